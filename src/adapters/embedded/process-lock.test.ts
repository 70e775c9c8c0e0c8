import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessLock } from "./process-lock.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The LOCK file of a store in its own folder under the test's. */
function lockIn(name: string): string {
  mkdirSync(join(dir, name));
  return join(dir, name, "LOCK");
}

/** Another process that takes the lock, says so, and holds it until killed. */
async function holder(path: string): Promise<Bun.Subprocess<"ignore", "pipe", "inherit">> {
  const script = `import { ProcessLock } from ${JSON.stringify(join(import.meta.dir, "process-lock.ts"))};
    ProcessLock.acquire(${JSON.stringify(path)}, "the test store"); console.log("locked"); setInterval(() => {}, 1000);`;
  const p = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  const reader = p.stdout.getReader();
  const first = await reader.read();
  reader.releaseLock();
  expect(new TextDecoder().decode(first.value)).toContain("locked");
  return p;
}

test("a second process is refused while the first holds the lock, even if the LOCK file names its own pid (pid 1 in two containers)", async () => {
  const path = lockIn("held");
  const p = await holder(path);
  try {
    expect(() => ProcessLock.acquire(path, "the test store")).toThrow(`the test store at ${join(dir, "held")} is in use by process ${p.pid}`);
    // Containers sharing a data dir: the owner's pid, as the LOCK file records it, is this process's own.
    writeFileSync(path, String(process.pid));
    expect(() => ProcessLock.acquire(path, "the test store")).toThrow("is in use by process");
  } finally {
    p.kill("SIGKILL");
    await p.exited;
  }
});

test("a LOCK file left by a process that died does not block, whatever pid it names", async () => {
  const path = lockIn("stale");
  const p = await holder(path);
  p.kill("SIGKILL");
  await p.exited;
  ProcessLock.acquire(path, "the test store").release();
  // A pid that is alive now (pid 1 always is) but holds no lock.
  writeFileSync(path, "1");
  ProcessLock.acquire(path, "the test store").release();
});

test("one process cannot take the lock twice (a second open of the same store); release lets it go", () => {
  const path = lockIn("twice");
  const lock = ProcessLock.acquire(path, "the test store");
  expect(() => ProcessLock.acquire(path, "the test store")).toThrow("is in use by process");
  lock.release();
  lock.release();
  ProcessLock.acquire(path, "the test store").release();
});
