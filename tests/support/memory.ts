import { readFileSync, writeFileSync } from "node:fs";

/** A line of /proc/<pid>/status in MiB: VmHWM is the process's peak resident set since it started, VmRSS the current one. */
export function statusMiB(pid: number, field: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Resets the process's VmHWM to its current RSS (Linux ≥ 4.0), so the next reading is the peak from now on. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

/**
 * Waits until the process's RSS stops falling: a first start's PGlite initdb peaks near 1 GiB and the
 * allocator hands that back over the next seconds, so a pass measured from an unsettled start counts the
 * start's release as its own (and its peak may be the start's). Settled: no reading within 3 s more than
 * 1% below the lowest before it; at most 30 s, then whatever it is.
 */
export async function settledRss(pid: number): Promise<number> {
  const limit = Date.now() + 30_000;
  let low = statusMiB(pid, "VmRSS");
  let since = Date.now();
  while (Date.now() < limit && Date.now() - since < 3000) {
    await Bun.sleep(250);
    const now = statusMiB(pid, "VmRSS");
    if (now < low * 0.99) since = Date.now();
    low = Math.min(low, now);
  }
  return statusMiB(pid, "VmRSS");
}
