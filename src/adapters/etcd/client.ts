import { Etcd3 } from "etcd3";

/**
 * An etcd client for a store under `prefix` (default `fallback`; "/" appended if missing), with a
 * deadline on every request but the watch streams. `what` names the store in errors.
 */
export function etcdClient(
  what: string,
  o: { endpoints: string[]; prefix?: string; requestTimeoutMs?: number },
  fallback: string,
): { client: Etcd3; prefix: string } {
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) throw new Error(`${what}: no endpoints given`);
  let prefix = o.prefix ?? fallback;
  if (prefix === "") throw new Error(`${what}: the prefix must not be empty`);
  if (!prefix.endsWith("/")) prefix += "/";
  const timeout = o.requestTimeoutMs ?? 5000;
  const client = new Etcd3({
    hosts: o.endpoints,
    dialTimeout: timeout,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  });
  return { client, prefix };
}
