import type { Watcher } from "etcd3";
import type { Logger } from "../../log.ts";
import { retry } from "../../retry.ts";

/**
 * Cancels a watch without letting it outlive close(): its listeners go first (a late event must not
 * touch a closed store), an error during the cancel is swallowed (etcd3 emits one when the stream ends),
 * and a cancel etcd does not answer (it is down) is given up after `ms`.
 */
export async function cancelWatcher(w: Watcher | null, ms = 2000): Promise<void> {
  if (!w) return;
  w.removeAllListeners();
  w.on("error", () => {});
  await Promise.race([w.cancel().catch(() => {}), Bun.sleep(ms)]);
}

/** Resolves once the watch is connected; rejects after `ms` without. */
export function connected(w: Watcher, ms = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the watch did not start within ${ms / 1000} s`)), ms);
    w.once("connected", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * After etcd cancelled a watch (e.g. its start revision was compacted): `again` (read the prefix whole,
 * watch from there), retried with backoff until it succeeds or `closed` aborts.
 */
export function watchAgain(again: () => Promise<void>, closed: AbortSignal, log: Logger, what: string): void {
  void retry(
    async () => {
      if (!closed.aborted) await again();
    },
    { baseMs: 200, capMs: 5000, signal: closed, onRetry: (e) => log.info(`${what}: ${(e as Error).message}`) },
  ).catch(() => {}); // retried until it works: only closing the store ends it otherwise
}
