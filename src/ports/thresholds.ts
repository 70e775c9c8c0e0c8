import type { ThresholdSnapshot } from "../domain/threshold.ts";

/** exerciseId → threshold in percent, plus a default (etcd's role). A consistent store: every write gets a new revision. */
export interface ThresholdStore {
  readonly engine: string;
  /**
   * A view that includes every write acknowledged before this call, from this process or any other.
   * The alert module calls it before each batch so a change applies to every report processed after it.
   */
  current(): Promise<ThresholdSnapshot>;
  /**
   * The copy this process holds now, without asking the engine: the file store's memory, or etcd's watched
   * copy. It includes this client's acknowledged writes at once and another client's within the watch's
   * delay (milliseconds). For per-request checks (the ingest role's exercise catalogue), where current()'s
   * round trip would cost one engine read per request.
   */
  view(): ThresholdSnapshot;
  set(exerciseId: string, threshold: number): Promise<ThresholdSnapshot>;
  remove(exerciseId: string): Promise<ThresholdSnapshot>;
  setDefault(threshold: number): Promise<ThresholdSnapshot>;
  /**
   * Resolves when the engine answers now, cheaply; rejects, saying why, when it does not. Polled for
   * readiness (/readyz), each call bounded by the caller's timeout. For etcd: a linearizable read (it needs a quorum).
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
