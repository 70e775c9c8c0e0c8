import { afterAll } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedView, warehouseContract } from "../../ports/warehouse.contract.ts";
import { OnDemandWarehouse } from "./on-demand-warehouse.ts";

// As pglite-warehouse.contract.test.ts: every client is a view of one warehouse, closed at the end. Its idle
// time is 5 ms, so the suite's steps run on instances opened and closed between them, and race the closes.
const dir = await mkdtemp(join(tmpdir(), "acu-on-demand-contract-"));
let shared: OnDemandWarehouse | null = null;
afterAll(async () => {
  await shared?.close();
  await rm(dir, { recursive: true, force: true });
}, 30_000);

warehouseContract("pglite opened on demand", async () => {
  shared ??= OnDemandWarehouse.open(join(dir, "pg"), { idleMs: 5 });
  const w = shared;
  return sharedView(w);
});
