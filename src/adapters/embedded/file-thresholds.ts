import { mkdirSync, openSync, closeSync, fsyncSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { ThresholdSnapshot } from "../../domain/threshold.ts";
import type { ThresholdStore } from "../../ports/thresholds.ts";

/**
 * Thresholds in one JSON file, replaced atomically (write, fsync, rename) on every change. The store lives
 * in the process that owns the data dir, so an acknowledged write is in memory before `current()` can run.
 */
export class FileThresholdStore implements ThresholdStore {
  readonly engine = "embedded";
  private snap: ThresholdSnapshot;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly path: string,
    snap: ThresholdSnapshot,
  ) {
    this.snap = snap;
  }

  static open(path: string, defaultThreshold: number): FileThresholdStore {
    mkdirSync(dirname(path), { recursive: true });
    let snap: ThresholdSnapshot = { defaultThreshold, thresholds: {}, revision: 0 };
    if (existsSync(path)) {
      const raw = JSON.parse(readFileSync(path, "utf8")) as ThresholdSnapshot;
      snap = { defaultThreshold: raw.defaultThreshold, thresholds: raw.thresholds ?? {}, revision: raw.revision ?? 0 };
    }
    return new FileThresholdStore(path, snap);
  }

  async current(): Promise<ThresholdSnapshot> {
    return this.snap;
  }

  view(): ThresholdSnapshot {
    return this.snap;
  }

  set(exerciseId: string, threshold: number): Promise<ThresholdSnapshot> {
    return this.change((s) => ({ ...s, thresholds: { ...s.thresholds, [exerciseId]: threshold } }));
  }

  remove(exerciseId: string): Promise<ThresholdSnapshot> {
    return this.change((s) => {
      const { [exerciseId]: _, ...rest } = s.thresholds;
      return { ...s, thresholds: rest };
    });
  }

  setDefault(threshold: number): Promise<ThresholdSnapshot> {
    return this.change((s) => ({ ...s, defaultThreshold: threshold }));
  }

  /** Open, and its folder there (the file itself appears with the first change). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the embedded threshold store is closed");
    await stat(dirname(this.path));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
  }

  private change(f: (s: ThresholdSnapshot) => ThresholdSnapshot): Promise<ThresholdSnapshot> {
    const next = this.chain.then(() => {
      const s = f(this.snap);
      const updated = { ...s, revision: this.snap.revision + 1 };
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, JSON.stringify(updated));
      const fd = openSync(tmp, "r");
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, this.path);
      this.snap = updated;
      return updated;
    });
    this.chain = next.catch(() => {});
    return next;
  }
}
