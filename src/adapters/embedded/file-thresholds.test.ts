import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { thresholdContract } from "../../ports/thresholds.contract.ts";
import { FileThresholdStore } from "./file-thresholds.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-thr-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
thresholdContract("embedded", async () => FileThresholdStore.open(join(dir, "thresholds.json"), 50));

test("embedded: ping rejects once the store's folder is gone (a data dir removed or unmounted)", async () => {
  const folder = join(dir, "gone");
  const s = FileThresholdStore.open(join(folder, "thresholds.json"), 50);
  await s.ping();
  rmSync(folder, { recursive: true });
  await expect(s.ping()).rejects.toThrow("ENOENT");
  await s.close();
});
