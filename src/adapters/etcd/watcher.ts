import type { Watcher } from "etcd3";

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
