/**
 * Macro (imported `with { type: "macro" }` by web/assets.ts): runs at bundle time and inlines the dashboard
 * script as a string. Bun.build cannot run inside a macro (the bundler waits for it), so it runs web/build.ts
 * in a child process.
 */
import { join } from "node:path";

export function dashboardScript(): string {
  const p = Bun.spawnSync({ cmd: [process.execPath, join(import.meta.dir, "build.ts")], stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`web/build.ts failed:\n${p.stderr.toString()}`);
  return (JSON.parse(p.stdout.toString()) as { js: string }).js;
}
