import { Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError } from "etcd3";

/** An etcd user (etcd with auth on); its roles decide which key ranges it may read or write. */
export interface EtcdAuth {
  username: string;
  password: string;
}

/**
 * An etcd client for a store under `prefix` (default `fallback`; "/" appended if missing), with a
 * deadline on every request but the watch streams (`timeoutMs`; the client retries a request that failed
 * on a host up to 3 times, each attempt with its own deadline). `what` names the store in errors.
 */
export function etcdClient(
  what: string,
  o: { endpoints: string[]; prefix?: string; requestTimeoutMs?: number; auth?: EtcdAuth | null },
  fallback: string,
): { client: Etcd3; prefix: string; timeoutMs: number } {
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) throw new Error(`${what}: no endpoints given`);
  let prefix = o.prefix ?? fallback;
  if (prefix === "") throw new Error(`${what}: the prefix must not be empty`);
  if (!prefix.endsWith("/")) prefix += "/";
  const timeout = o.requestTimeoutMs ?? 5000;
  const client = new Etcd3({
    hosts: o.endpoints,
    dialTimeout: timeout,
    // The token exchange gets the same deadline as any request.
    auth: o.auth ? { username: o.auth.username, password: o.auth.password, callOptions: () => ({ deadline: Date.now() + timeout }) } : undefined,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  });
  return { client, prefix, timeoutMs: timeout };
}

/**
 * An etcd error's message, with what to check when it is about authentication or permissions (etcd
 * says only "permission denied" or "user name is empty", not which user or why).
 */
export function etcdMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof EtcdPermissionDeniedError || /permission denied/i.test(msg))
    return `${msg} (the etcd user ACU_ETCD_USER has no role granting this on the prefix: docs/operations.md lists each role's)`;
  if (e instanceof EtcdAuthenticationFailedError || /authentication failed/i.test(msg)) return `${msg} (check ACU_ETCD_USER and ACU_ETCD_PASSWORD)`;
  if (/user name is empty/i.test(msg)) return `${msg} (etcd has auth on: set ACU_ETCD_USER and ACU_ETCD_PASSWORD)`;
  return msg;
}
