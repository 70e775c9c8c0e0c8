import { expect } from "bun:test";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { startAcu, type AcuProcess } from "../support/acu.ts";
import { lakeSettled, Load, log, ReadyWatch, record } from "./lib.ts";

/** Mount points of this scenario still mounted: the suite's afterAll unmounts them if a run was cut short. */
const mounted = new Set<string>();

/** A tmpfs of `size` at `dir`; throws (the scenario fails, it does not skip) where mounting is not allowed. */
function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  const p = Bun.spawnSync({ cmd: ["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir] });
  if (p.exitCode !== 0) throw new Error(`disk-full: cannot mount a tmpfs at ${dir} (the test needs root): ${p.stderr.toString()}`);
  mounted.add(dir);
}

export function unmountDiskFull(): void {
  for (const dir of mounted) {
    const p = Bun.spawnSync({ cmd: ["umount", dir] });
    if (p.exitCode !== 0) log(`disk-full: umount ${dir} failed: ${p.stderr.toString()}`);
    else mounted.delete(dir);
  }
}

/** Writes `path` until the file system has no byte left (ENOSPC), in 1 MiB then 4 KiB pieces; returns its size. */
function fillDisk(path: string): number {
  const fd = openSync(path, "w");
  let size = 0;
  try {
    for (const piece of [1 << 20, 4096]) {
      const chunk = new Uint8Array(piece);
      for (;;) {
        try {
          size += writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return size;
}

/**
 * The disk under the embedded data dir fills up while reports come in (acu all-in-one on a small tmpfs, a
 * filler file written until ENOSPC): ingest answers 503 with a Retry-After, never 202 nor another error,
 * the process stays up (/healthz 200) and /readyz says the data dir is full; the filler deleted, ingest
 * answers 202 again. Then acu is killed (kill -9) and started again on the same data dir: the journal
 * opens (a failed append left no torn frame), and every acknowledged report is in the lake exactly once.
 */
export async function diskFull(dir: string, procs: Set<AcuProcess>): Promise<void> {
  const mnt = join(dir, "disk-full");
  mountTmpfs(mnt, "128m");
  try {
    await diskFullRun(mnt, procs);
  } finally {
    // A failed check leaves acu running on the mount, which could not be unmounted under it.
    for (const p of [...procs].filter((p) => p.dataDir.startsWith(mnt))) {
      await p.stop(9);
      procs.delete(p);
    }
    unmountDiskFull();
  }
}

async function diskFullRun(mnt: string, procs: Set<AcuProcess>): Promise<void> {
  const dataDir = join(mnt, "data");
  const env = { ACU_SINK_FLUSH_MS: "1000", ACU_SINK_FLUSH_RECORDS: "2000", ACU_INGEST_RATE_LIMIT: "0" };
  let acu = await startAcu({ dataDir, env });
  procs.add(acu);
  const ready = new ReadyWatch("acu", acu.url);
  const health: Array<{ at: number; status: number }> = [];
  let watching = true;
  const healthLoop = (async () => {
    while (watching) {
      const status = await fetch(`${acu.url}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => 0,
      );
      health.push({ at: Date.now(), status });
      await Bun.sleep(250);
    }
  })();
  const load = new Load({ targets: () => [acu.url], rate: 300, batch: 25, seed: 47 }).start();
  await Bun.sleep(4000);

  const filler = join(mnt, "filler");
  const tFull = Date.now();
  const filled = fillDisk(filler);
  const free = await statfs(mnt);
  log(`disk-full: filler of ${(filled / 2 ** 20).toFixed(1)} MiB written in ${Date.now() - tFull} ms; ${free.bavail * free.bsize} bytes left`);
  await Bun.sleep(10_000);
  const tFree = Date.now();
  rmSync(filler);
  log("disk-full: filler deleted");
  const firstAck = await waitFor(() => load.answers.find((a) => a.at >= tFree && a.status === 202)?.at ?? null, 30_000);
  await Bun.sleep(4000);
  await load.stop();
  watching = false;
  await healthLoop;
  await ready.stop();

  const firstRefusal = load.answers.find((a) => a.at >= tFull && a.status === 503)?.at ?? null;
  // Once a write has failed, no batch fits on the full disk: a frame of 25 reports is larger than a page.
  const full = { from: (firstRefusal ?? tFull) + 1000, to: tFree };
  const during = { ok: load.count(202, full.from, full.to), refused: load.count(503, tFull, tFree), unanswered: load.count(0, tFull, tFree) };
  const refused = load.refusals(tFull, tFree);
  const statuses = [...new Set(load.answers.map((a) => a.status))].sort();
  const unhealthy = health.filter((h) => h.status !== 200).length;
  const notReady = ready.first(false, tFull, tFree);
  const readyAgain = ready.first(true, tFree);

  // kill -9, then a start on the same data dir: the journal must open, and the sink finish from it.
  await acu.stop(9);
  procs.delete(acu);
  const tRestart = Date.now();
  acu = await startAcu({ dataDir, env });
  procs.add(acu);
  const reopenMs = Date.now() - tRestart;
  const lake = new LocalLake(join(dataDir, "lake"));
  const audit = await lakeSettled(lake, load.acked, load.abandoned, 60_000);
  record({
    name: "disk-full",
    acknowledged: load.acked.size,
    lost: audit.lost,
    duplicated: audit.duplicated,
    recoveryMs: firstAck === null ? null : firstAck - tFree,
    notes:
      `tmpfs of 128 MiB filled (${(filled / 2 ** 20).toFixed(1)} MiB filler) for ${tFree - tFull} ms: first 503 ${firstRefusal === null ? "never" : `${firstRefusal - tFull} ms`} after the fill, ` +
      `${during.refused} × 503 (Retry-After ${JSON.stringify(refused.retryAfters)}), ${during.ok} acknowledged after the first refusal, ${during.unanswered} unanswered; answers seen ${JSON.stringify(statuses)}; ` +
      `/healthz not 200 ${unhealthy} time(s) of ${health.length}; /readyz 503 ${notReady === null ? "never" : `${notReady.at - tFull} ms after the fill (${notReady.waitingFor.join("; ")}), then ${JSON.stringify(ready.statuses(notReady.at, tFree))} until the delete`}, ` +
      `200 again ${readyAgain === null ? "never" : `${readyAgain.at - tFree} ms`} after the delete; first 202 ${firstAck === null ? "never" : `${firstAck - tFree} ms`} after the delete; ` +
      `restarted after kill -9 and ready in ${reopenMs} ms; ${audit.rows.length} rows in ${audit.files.length} lake files`,
  });
  expect(firstRefusal).not.toBeNull();
  expect(during.ok).toBe(0);
  expect(during.refused).toBeGreaterThan(0);
  expect(during.unanswered).toBe(0);
  expect({ without503RetryAfter: refused.withoutRetryAfter }).toEqual({ without503RetryAfter: 0 });
  expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
  expect(unhealthy).toBe(0);
  expect(notReady?.waitingFor.join("; ") ?? "ready all along").toMatch(/no space/);
  // Not ready from then on until the filler is deleted, not flapping.
  expect(notReady === null ? {} : ready.statuses(notReady.at, tFree)).not.toHaveProperty("200");
  expect(readyAgain).not.toBeNull();
  expect(firstAck).not.toBeNull();
  expect(firstAck! - tFree).toBeLessThan(10_000);
  expect(audit.lost).toBe(0);
  expect(audit.duplicated).toBe(0);
  expect(audit.unexpected).toBe(0);
  expect(audit.positionsRepeated).toBe(0);
  await acu.stop();
  procs.delete(acu);
}

async function waitFor<T>(get: () => T | null, timeoutMs: number): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== null || Date.now() > deadline) return v;
    await Bun.sleep(100);
  }
}
