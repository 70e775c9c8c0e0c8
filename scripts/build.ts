/**
 * Builds dist/acu: one executable with the Bun runtime, the code, the dashboard, the Parquet codec's wasm
 * and PGlite's wasm and data files, so it runs on a machine with neither Bun nor node_modules.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const pglite = join(root, "node_modules/@electric-sql/pglite/dist");
mkdirSync(join(root, "dist"), { recursive: true });
const proc = Bun.spawnSync({
  cmd: [
    process.execPath,
    "build",
    "--compile",
    "--minify-syntax",
    "--sourcemap=none",
    "--asset-naming=[name].[ext]",
    "--entry-naming=[name]-[hash].[ext]",
    join(root, "src/main.ts"),
    join(pglite, "pglite.wasm"),
    join(pglite, "initdb.wasm"),
    join(pglite, "pglite.data"),
    "--outfile",
    join(root, "dist/acu"),
  ],
  stdout: "inherit",
  stderr: "inherit",
  cwd: root,
});
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
console.log("built dist/acu");
