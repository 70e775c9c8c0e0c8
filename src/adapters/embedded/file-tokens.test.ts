import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tokenContract } from "../../ports/tokens.contract.ts";
import { FileTokenStore } from "./file-tokens.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-tok-"));
const path = join(dir, "tokens.json");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
tokenContract(
  "embedded",
  async () => FileTokenStore.open(path),
  async () => FileTokenStore.open(path),
  async () => readFileSync(path, "utf8"),
);

test("embedded: ping rejects once the store's folder is gone (a data dir removed or unmounted)", async () => {
  const folder = join(dir, "gone");
  const s = FileTokenStore.open(join(folder, "tokens.json"));
  await s.ping();
  rmSync(folder, { recursive: true });
  await expect(s.ping()).rejects.toThrow("ENOENT");
  await s.close();
});
