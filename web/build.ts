/**
 * Bundles the dashboard's client — web/src/app.ts with d3-geo, topojson-client and the map of France — into
 * one browser script with Bun's bundler. web/assets.ts calls it through a macro (web/bundle.ts), so the
 * script is built when acu starts from source and baked into dist/acu by `bun build --compile`.
 *
 * `bun web/build.ts` prints {"js": "..."} (what the macro reads); `bun web/build.ts --out DIR` writes DIR/app.js.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export async function buildDashboard(): Promise<{ js: string }> {
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "src/app.ts")],
    target: "browser",
    format: "esm",
    minify: true,
    sourcemap: "none",
  });
  if (!result.success) throw new AggregateError(result.logs, `the dashboard does not build:\n${result.logs.join("\n")}`);
  const js = result.outputs.find((o) => o.kind === "entry-point");
  if (!js) throw new Error("the dashboard build made no script");
  return { js: await js.text() };
}

if (import.meta.main) {
  const built = await buildDashboard();
  const i = process.argv.indexOf("--out");
  if (i > 0 && process.argv[i + 1]) {
    mkdirSync(process.argv[i + 1]!, { recursive: true });
    writeFileSync(join(process.argv[i + 1]!, "app.js"), built.js);
  } else {
    process.stdout.write(JSON.stringify(built));
  }
}
