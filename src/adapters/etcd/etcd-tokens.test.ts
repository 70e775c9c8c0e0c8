import { afterAll, describe, expect, test } from "bun:test";
import { silentLogger } from "../../log.ts";
import { Etcd3 } from "etcd3";
import { tokenContract } from "../../ports/tokens.contract.ts";
import { EtcdTokenStore } from "./etcd-tokens.ts";

/** Runs against a real etcd (ACU_ETCD_ENDPOINTS), under a fresh random prefix deleted at the end. */
const ENDPOINTS = (process.env.ACU_ETCD_ENDPOINTS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
if (ENDPOINTS.length === 0) console.log("etcd-tokens.test.ts: skipped, ACU_ETCD_ENDPOINTS is not set");
const PREFIX = `/acu-test/${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}/tokens/`;

describe.skipIf(ENDPOINTS.length === 0)("etcd token store", () => {
  const open = () => EtcdTokenStore.open({ endpoints: ENDPOINTS, prefix: PREFIX, log: silentLogger });
  const dump = async () => {
    const c = new Etcd3({ hosts: ENDPOINTS });
    try {
      return JSON.stringify(await c.getAll().prefix(PREFIX).strings());
    } finally {
      c.close();
    }
  };
  afterAll(async () => {
    const c = new Etcd3({ hosts: ENDPOINTS });
    try {
      await c.delete().prefix(PREFIX);
    } finally {
      c.close();
    }
  });

  tokenContract("etcd", open, open, dump);

  test("a key written by etcdctl that is not a token record is ignored, the rest still verify", async () => {
    const s = await open();
    const t = await s.create("viewer", "beside junk");
    const c = new Etcd3({ hosts: ENDPOINTS });
    await c.put(`${PREFIX}junk`).value("not json");
    c.close();
    await Bun.sleep(200);
    expect(s.verify(t.token)).toEqual({ id: t.id, scope: "viewer" });
    expect((await s.list()).some((x) => x.id === "junk")).toBe(false);
    await s.close();
  });

  test("with etcd unreadable past staleAfterMs, store tokens are refused (revocation stays bounded)", async () => {
    const s = await EtcdTokenStore.open({ endpoints: ENDPOINTS, prefix: PREFIX, log: silentLogger, staleAfterMs: 300, resyncMs: 60_000 });
    const t = await s.create("viewer", "stale");
    expect(s.verify(t.token)).not.toBeNull();
    // No re-read for 60 s: after 300 ms the copy is no longer trusted.
    await Bun.sleep(400);
    expect(s.verify(t.token)).toBeNull();
    await s.close();
  });
});
