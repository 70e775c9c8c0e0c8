import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { FileThresholdStore } from "../../src/adapters/embedded/file-thresholds.ts";
import { EtcdThresholdStore } from "../../src/adapters/etcd/etcd-thresholds.ts";
import { ExerciseCatalogue } from "./catalogue.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-catalogue-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the catalogue is the set of exercises with a threshold entry; the default does not make one", async () => {
  const store = FileThresholdStore.open(join(dir, "thresholds.json"), 50);
  const catalogue = new ExerciseCatalogue(store);
  expect(await catalogue.unknown(["a", "b", "a"])).toEqual(["a", "b"]);
  await store.set("a", 40);
  await store.setDefault(70);
  expect(await catalogue.unknown(["a", "b", "a"])).toEqual(["b"]);
  // Own keys only: Object.prototype's members are not exercises.
  expect(await catalogue.unknown(["toString", "__proto__", "a"])).toEqual(["toString", "__proto__"]);
  await store.close();
});

const ENDPOINTS = (process.env.ACU_ETCD_ENDPOINTS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "");
if (ENDPOINTS.length === 0) console.log("catalogue.test.ts: etcd part skipped, ACU_ETCD_ENDPOINTS is not set");

describe.skipIf(ENDPOINTS.length === 0)("etcd", () => {
  const prefix = `/acu-test/catalogue-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}/`;
  afterAll(async () => {
    const c = new Etcd3({ hosts: ENDPOINTS });
    await c.delete().prefix(prefix);
    c.close();
  });

  test("an exercise entered through another process is in the catalogue for the very next report, 50 times of 50", async () => {
    const open = () => EtcdThresholdStore.open({ endpoints: ENDPOINTS, prefix, defaultThreshold: 50 });
    const [operator, ingest] = [await open(), await open()];
    try {
      const catalogue = new ExerciseCatalogue(ingest);
      const refused: string[] = [];
      for (let i = 0; i < 50; i++) {
        await operator.set(`ex.${i}`, 50);
        // The ingest process's view may not have it yet (its watch is milliseconds behind): the catalogue reads then.
        refused.push(...(await catalogue.unknown([`ex.${i}`])));
      }
      expect(refused).toEqual([]);
      // A removal reaches the ingest process with its watch (docs/operations.md: "within the watch's delay"):
      // refused once the watch delivered it, within 5 s whatever the load, never an exercise kept for good.
      await operator.remove("ex.7");
      const until = Date.now() + 5000;
      let after = await catalogue.unknown(["ex.7", "ex.8"]);
      while (after.length === 0 && Date.now() < until) {
        await Bun.sleep(10);
        after = await catalogue.unknown(["ex.7", "ex.8"]);
      }
      expect(after).toEqual(["ex.7"]);
      // Known exercises cost no read of etcd: 100 reports, not one current().
      const reads = () => ingest.stats.fresh + ingest.stats.caughtUp + ingest.stats.reloaded;
      const before = reads();
      for (let i = 0; i < 100; i++) expect(await catalogue.unknown([`ex.${i % 50 === 7 ? 8 : i % 50}`])).toEqual([]);
      expect(reads()).toBe(before);
    } finally {
      await operator.close();
      await ingest.close();
    }
  }, 30_000);
});
