import { afterAll, describe, expect, test } from "bun:test";
import { Etcd3 } from "etcd3";
import { dispatchStoreContract } from "../../ports/dispatch-store.contract.ts";
import { EtcdDispatchStore } from "./etcd-dispatch-store.ts";

/** Runs against a real etcd: ACU_ETCD_ENDPOINTS=http://127.0.0.1:2379[,…]. Each run uses a fresh prefix, deleted at the end. */
const ENDPOINTS = (process.env.ACU_ETCD_ENDPOINTS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "");
if (ENDPOINTS.length === 0) console.log("etcd-dispatch-store.test.ts: skipped, ACU_ETCD_ENDPOINTS is not set (comma-separated etcd client URLs)");

const BASE = `/acu-test/${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}/`;
let n = 0;

describe.skipIf(ENDPOINTS.length === 0)("etcd dispatch store", () => {
  afterAll(async () => {
    const c = new Etcd3({ hosts: ENDPOINTS });
    try {
      await c.delete().prefix(BASE);
    } finally {
      c.close();
    }
  });

  // Two clients (two connections, as two processes would have) over one prefix per test.
  dispatchStoreContract("etcd", async () => {
    const prefix = `${BASE}dispatch-${n++}/`;
    const open = () => EtcdDispatchStore.open({ endpoints: ENDPOINTS, prefix });
    const a = await open();
    const b = await open();
    return {
      a,
      b,
      reopen: async () => {
        await a.close();
        await b.close();
        return open();
      },
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  });

  test("an unreachable etcd fails open() with the endpoint in the message", async () => {
    await expect(EtcdDispatchStore.open({ endpoints: ["http://127.0.0.1:1"], prefix: `${BASE}x/`, requestTimeoutMs: 1000 })).rejects.toThrow(
      /127\.0\.0\.1:1.*cannot open/,
    );
  });
});
