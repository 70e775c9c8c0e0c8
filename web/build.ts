/**
 * Bundles the browser clients — the operators' dashboard (web/src/app.ts) and the patrol's phone page
 * (web/src/patrol.ts), each with d3-geo, topojson-client and the map of France — into one script each with
 * Bun's bundler. web/assets.ts calls it through a macro (web/bundle.ts), so the scripts are built when acu
 * starts from source and baked into dist/acu by `bun build --compile`.
 *
 * `bun web/build.ts` prints {"js": "...", "patrolJs": "..."} (what the macro reads); `bun web/build.ts --out DIR`
 * writes DIR/app.js and DIR/patrol.js.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One entry point bundled alone: each page loads one self-contained script. */
async function bundle(entry: string, what: string): Promise<string> {
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, entry)],
    target: "browser",
    format: "esm",
    minify: true,
    sourcemap: "none",
  });
  if (!result.success) throw new AggregateError(result.logs, `the ${what} does not build:\n${result.logs.join("\n")}`);
  const js = result.outputs.find((o) => o.kind === "entry-point");
  if (!js) throw new Error(`the ${what} build made no script`);
  return js.text();
}

export async function buildDashboard(): Promise<{ js: string; patrolJs: string }> {
  const [js, patrolJs] = await Promise.all([bundle("src/app.ts", "dashboard"), bundle("src/patrol.ts", "patrol page")]);
  return { js, patrolJs };
}

if (import.meta.main) {
  const built = await buildDashboard();
  const i = process.argv.indexOf("--out");
  if (i > 0 && process.argv[i + 1]) {
    mkdirSync(process.argv[i + 1]!, { recursive: true });
    writeFileSync(join(process.argv[i + 1]!, "app.js"), built.js);
    writeFileSync(join(process.argv[i + 1]!, "patrol.js"), built.patrolJs);
  } else {
    process.stdout.write(JSON.stringify(built));
  }
}
