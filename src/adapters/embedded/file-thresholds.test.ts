import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { thresholdContract } from "../../ports/thresholds.contract.ts";
import { FileThresholdStore } from "./file-thresholds.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-thr-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
thresholdContract("embedded", async () => FileThresholdStore.open(join(dir, "thresholds.json"), 50));
