import type { ThresholdSnapshot } from "../../src/domain/threshold.ts";
import type { ThresholdStore } from "../../src/ports/thresholds.ts";

/**
 * ACU_EXERCISES=strict: the catalogue is the set of exercises with a threshold entry. A report for any
 * other exercise is refused, so a made-up exerciseId cannot create warehouse rows and analyzer state.
 *
 * Checked against the store's live view (its watched copy: no engine read per request). Only when the
 * view lacks an exercise is the store read (current(), shared by concurrent requests): an exercise added
 * just before the report was sent, through another process, is never refused for the watch's delay.
 */
export class ExerciseCatalogue {
  constructor(private readonly store: ThresholdStore) {}

  /** The distinct exercises of a batch without a threshold entry, in order; empty when all are known. Rejects when the store cannot be read. */
  async unknown(exerciseIds: readonly string[]): Promise<string[]> {
    const missing = missingFrom(this.store.view(), exerciseIds);
    if (missing.length === 0) return missing;
    return missingFrom(await this.store.current(), missing);
  }
}

function missingFrom(snap: ThresholdSnapshot, exerciseIds: readonly string[]): string[] {
  return [...new Set(exerciseIds)].filter((id) => !Object.hasOwn(snap.thresholds, id));
}
