import type { ThresholdSnapshot } from "../domain/threshold.ts";

/** exerciseId → threshold in percent, plus a default (etcd's role). A consistent store: every write gets a new revision. */
export interface ThresholdStore {
  readonly engine: string;
  /**
   * A view that includes every write acknowledged before this call, from this process or any other.
   * The alert module calls it before each batch so a change applies to every report processed after it.
   */
  current(): Promise<ThresholdSnapshot>;
  set(exerciseId: string, threshold: number): Promise<ThresholdSnapshot>;
  remove(exerciseId: string): Promise<ThresholdSnapshot>;
  setDefault(threshold: number): Promise<ThresholdSnapshot>;
  close(): Promise<void>;
}
