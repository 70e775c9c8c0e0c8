/**
 * The demo's exercise catalogue (ACU_EXERCISES=strict on the embedded store): the exercises `acu signal`
 * sends are entered at the default threshold, each once. `catalogue-seed.json` in the data dir remembers
 * which were: one an operator removed stays removed, one added to the generator later is entered at the
 * next start, and a data dir from before the catalogue gets them all (its demo keeps working).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ThresholdStore } from "../ports/thresholds.ts";

export const SEED_FILE = "catalogue-seed.json";

/** Enters the exercises of `ids` never entered before and not in the store; answers those it entered. */
export async function seedDemoCatalogue(store: ThresholdStore, dataDir: string, ids: readonly string[], threshold: number): Promise<string[]> {
  const path = join(dataDir, SEED_FILE);
  const seeded = new Set<string>(existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { exercises: string[] }).exercises : []);
  const snap = store.view();
  const added = ids.filter((id) => !seeded.has(id) && !Object.hasOwn(snap.thresholds, id));
  for (const id of added) await store.set(id, threshold);
  if (ids.some((id) => !seeded.has(id))) {
    // Written after the entries: a crash in between enters them again, which changes nothing.
    writeFileSync(`${path}.tmp`, JSON.stringify({ exercises: [...new Set([...seeded, ...ids])] }));
    renameSync(`${path}.tmp`, path);
  }
  return added;
}
