import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileThresholdStore } from "../adapters/embedded/file-thresholds.ts";
import { seedDemoCatalogue } from "./demo-catalogue.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-demo-catalogue-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("each generator exercise is entered once: a removed one stays removed, a new one is entered at the next start", async () => {
  const data = join(dir, "a");
  const store = FileThresholdStore.open(join(data, "thresholds.json"), 50);
  expect(await seedDemoCatalogue(store, data, ["x", "y", "z"], 50)).toEqual(["x", "y", "z"]);
  await store.set("y", 80);
  await store.remove("z");
  expect(await seedDemoCatalogue(store, data, ["x", "y", "z", "w"], 50)).toEqual(["w"]);
  expect(store.view().thresholds).toEqual({ x: 50, y: 80, w: 50 });
  expect(await seedDemoCatalogue(store, data, ["x", "y", "z", "w"], 50)).toEqual([]);
  await store.close();
});

test("a data dir from before the catalogue (thresholds written, no seed file) gets the exercises it lacks", async () => {
  const data = join(dir, "b");
  const store = FileThresholdStore.open(join(data, "thresholds.json"), 50);
  await store.set("bsq", 70);
  expect(await seedDemoCatalogue(store, data, ["bsq", "rush00"], 40)).toEqual(["rush00"]);
  expect(store.view().thresholds).toEqual({ bsq: 70, rush00: 40 });
  await store.close();
});
