import { afterAll } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedView, warehouseContract } from "../../ports/warehouse.contract.ts";
import { PgliteWarehouse } from "./pglite-warehouse.ts";

// PGlite is single-process (a lock on its data directory) and takes a second or two to start, so every
// client the suite asks for is a view of one instance whose close() leaves it open; it is closed at the end.
// Closing itself is covered by pglite-warehouse.test.ts.
const dir = await mkdtemp(join(tmpdir(), "acu-pglite-contract-"));
let shared: Promise<PgliteWarehouse> | null = null;
afterAll(async () => {
  if (shared) await (await shared).close();
  await rm(dir, { recursive: true, force: true });
}, 30_000);

warehouseContract("pglite", async () => {
  const w = await (shared ??= PgliteWarehouse.open(join(dir, "pg")));
  return sharedView(w);
});
