import { expect, test } from "bun:test";
import { muteTimeoutNegativeWarnings } from "./warnings.ts";

function warning(name: string): Error {
  const w = new Error(`a ${name}`);
  w.name = name;
  return w;
}

/** process.emitWarning delivers on a later tick. */
const delivered = () => new Promise<void>((r) => setTimeout(r, 10));

// The mute is process-wide and counted: another test file's open Kafka bus holds it in a shared test
// process. This case therefore runs in a process of its own.
const alone = process.env.WARNINGS_TEST_ALONE === "1";

test("(in a fresh process) the mute cases below pass", () => {
  if (alone) return;
  const r = Bun.spawnSync({
    cmd: [process.execPath, "test", import.meta.path],
    env: { ...process.env, WARNINGS_TEST_ALONE: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(r.exitCode, r.stderr.toString().slice(-3000)).toBe(0);
}, 30_000);

if (alone)
  test("while muted, TimeoutNegativeWarning alone is dropped; the last release puts the listeners back", async () => {
    const seen: string[] = [];
    const mine = (w: Error) => seen.push(w.name);
    // Ours alone while the test runs (Bun's printer would put these test warnings on stderr).
    const printers = process.listeners("warning");
    process.removeAllListeners("warning");
    process.on("warning", mine);
    const before = process.listeners("warning");
    try {
      const releaseA = muteTimeoutNegativeWarnings();
      const releaseB = muteTimeoutNegativeWarnings(); // a second bus open at once
      process.emitWarning(warning("TimeoutNegativeWarning"));
      process.emitWarning(warning("DeprecationWarning"));
      await delivered();
      expect(seen).toEqual(["DeprecationWarning"]);
      releaseA();
      releaseA(); // twice is once
      expect(process.listeners("warning")).not.toEqual(before);
      releaseB();
      expect(process.listeners("warning")).toEqual(before);
      process.emitWarning(warning("TimeoutNegativeWarning"));
      await delivered();
      expect(seen).toEqual(["DeprecationWarning", "TimeoutNegativeWarning"]);
    } finally {
      process.removeListener("warning", mine);
      for (const p of printers) process.on("warning", p);
    }
  });

test("importing the Kafka adapter leaves the process's warning listeners alone", async () => {
  // A process of its own: in this one the module may already be loaded.
  const script = [
    `const before = process.listeners("warning");`,
    `await import(${JSON.stringify(new URL("./kafka-bus.ts", import.meta.url).pathname)});`,
    `const after = process.listeners("warning");`,
    `console.log(JSON.stringify({ before: before.length, same: after.length === before.length && after.every((l, i) => l === before[i]) }));`,
  ].join("\n");
  const p = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  expect(code).toBe(0);
  const { before, same } = JSON.parse(out) as { before: number; same: boolean };
  expect(before).toBeGreaterThan(0); // Bun's own printer
  expect(same).toBe(true);
});
