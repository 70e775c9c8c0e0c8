/**
 * In the compiled binary PGlite cannot find its wasm and data files next to its module (they are not on
 * disk), so scripts/build.ts embeds them and this hands them to PGlite. Under `bun run` it returns
 * nothing and PGlite loads them from node_modules as usual.
 */
export interface PgliteAssets {
  pgliteWasmModule?: WebAssembly.Module;
  initdbWasmModule?: WebAssembly.Module;
  fsBundle?: Blob;
}

export async function pgliteAssets(): Promise<PgliteAssets | undefined> {
  const files = Bun.embeddedFiles as Array<Blob & { name: string }>;
  if (files.length === 0) return undefined;
  const find = (stem: string, ext: string) => files.find((f) => f.name.startsWith(stem) && f.name.endsWith(ext));
  const pglite = find("pglite", ".wasm");
  const initdb = find("initdb", ".wasm");
  const data = find("pglite", ".data");
  if (!pglite || !initdb || !data) {
    throw new Error(`this binary lacks PGlite's embedded files (found: ${files.map((f) => f.name).join(", ") || "none"}); rebuild it with 'bun run build'`);
  }
  return {
    pgliteWasmModule: await WebAssembly.compile(await pglite.arrayBuffer()),
    initdbWasmModule: await WebAssembly.compile(await initdb.arrayBuffer()),
    fsBundle: data,
  };
}
