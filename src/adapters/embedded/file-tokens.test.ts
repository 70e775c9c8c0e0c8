import { afterAll } from "bun:test";
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
