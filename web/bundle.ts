/**
 * Macro (imported `with { type: "macro" }` by web/assets.ts): runs at bundle time and inlines the browser
 * scripts as strings. Bun.build cannot run inside a macro (the bundler waits for it), so it runs web/build.ts
 * in a child process, once for both pages.
 */
import { join } from "node:path";

export function browserScripts(): { js: string; patrolJs: string } {
  const p = Bun.spawnSync({ cmd: [process.execPath, join(import.meta.dir, "build.ts")], stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`web/build.ts failed:\n${p.stderr.toString()}`);
  return JSON.parse(p.stdout.toString()) as { js: string; patrolJs: string };
}
