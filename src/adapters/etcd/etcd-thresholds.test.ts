import { afterAll, describe, expect, test } from "bun:test";
import { lineLogger } from "../../log.ts";
import { Etcd3 } from "etcd3";
import { thresholdContract } from "../../ports/thresholds.contract.ts";
import { EtcdThresholdStore, parseThreshold } from "./etcd-thresholds.ts";

/**
 * Runs against a real etcd: ACU_ETCD_ENDPOINTS=http://127.0.0.1:2379[,…]. Each run uses a fresh random
 * prefix and deletes it at the end. `etcdctl` (v3 API) must be on the PATH for the cross-client tests.
 */
const ENDPOINTS = (process.env.ACU_ETCD_ENDPOINTS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "");
if (ENDPOINTS.length === 0) console.log("etcd-thresholds.test.ts: skipped, ACU_ETCD_ENDPOINTS is not set (comma-separated etcd client URLs)");

const TIMEOUT_MS = 30_000;
const BASE = `/acu-test/${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}/`;
const PREFIX = `${BASE}thresholds/`;

test("parseThreshold accepts whole percents 0..100 only", () => {
  expect(["0", "7", "42", "100", " 55\n"].map(parseThreshold)).toEqual([0, 7, 42, 100, 55]);
  for (const bad of ["", "101", "-1", "4.5", "1e2", "abc", "0x10", "1000", "42%"]) expect(parseThreshold(bad)).toBeNull();
});

describe.skipIf(ENDPOINTS.length === 0)("etcd threshold store", () => {
  const stores: EtcdThresholdStore[] = [];
  const warnings: string[] = [];
  const open = async (prefix = PREFIX) => {
    const s = await EtcdThresholdStore.open({ endpoints: ENDPOINTS, prefix, defaultThreshold: 50, log: lineLogger((m) => warnings.push(m)) });
    stores.push(s);
    return s;
  };

  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => {});
    const c = new Etcd3({ hosts: ENDPOINTS });
    try {
      await c.delete().prefix(BASE);
    } finally {
      c.close();
    }
  }, TIMEOUT_MS);

  async function etcdctl(...args: string[]): Promise<string> {
    const p = Bun.spawn(["etcdctl", `--endpoints=${ENDPOINTS.join(",")}`, ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`etcdctl ${args.join(" ")} exited ${code}: ${err}`);
    return out;
  }

  thresholdContract(
    "etcd",
    () => open(),
    () => open(),
  );

  test(
    "the default is written once, on the first open, and not overwritten by later opens",
    async () => {
      const prefix = `${BASE}default-once/`;
      const a = await EtcdThresholdStore.open({ endpoints: ENDPOINTS, prefix, defaultThreshold: 35 });
      stores.push(a);
      expect((await a.current()).defaultThreshold).toBe(35);
      expect((await etcdctl("get", "--print-value-only", `${prefix}default`)).trim()).toBe("35");
      const b = await EtcdThresholdStore.open({ endpoints: ENDPOINTS, prefix, defaultThreshold: 80 });
      stores.push(b);
      expect((await b.current()).defaultThreshold).toBe(35);
      await b.setDefault(60);
      expect((await a.current()).defaultThreshold).toBe(60);
    },
    TIMEOUT_MS,
  );

  test(
    "a write made with etcdctl is seen by the very next current(), 100 times of 100",
    async () => {
      const s = await open();
      let stale = 0;
      for (let i = 0; i < 100; i++) {
        const v = (i * 37) % 101;
        await etcdctl("put", `${PREFIX}exercises/ex.etcdctl`, String(v));
        if ((await s.current()).thresholds["ex.etcdctl"] !== v) stale++;
      }
      expect(stale).toBe(0);
      console.log(`etcdctl writes: current() answered ${JSON.stringify(s.stats)}`);
      await etcdctl("del", `${PREFIX}exercises/ex.etcdctl`);
      expect((await s.current()).thresholds["ex.etcdctl"]).toBeUndefined();
    },
    TIMEOUT_MS * 2,
  );

  test(
    "writes to other keys of the cluster do not make current() slow or wrong",
    async () => {
      const s = await open();
      await s.set("ex.other-keys", 12);
      await s.current();
      const before = { ...s.stats };
      for (let i = 0; i < 50; i++) {
        await etcdctl("put", `${BASE}unrelated-${i % 3}`, String(i));
        const snap = await s.current();
        expect(snap.thresholds["ex.other-keys"]).toBe(12);
      }
      // etcd's revision moved 50 times, but nothing under the prefix: each answer came from the copy, no wait, no re-read.
      expect(s.stats.fresh - before.fresh).toBe(50);
      expect(s.stats.reloaded).toBe(before.reloaded);
      expect(s.stats.caughtUp).toBe(before.caughtUp);
    },
    TIMEOUT_MS * 2,
  );

  test(
    "the guarantee does not rest on the watch: with it stopped, every write is still seen (by re-reading)",
    async () => {
      const s = await EtcdThresholdStore.open({
        endpoints: ENDPOINTS,
        prefix: PREFIX,
        defaultThreshold: 50,
        catchUpMs: 5,
        log: lineLogger((m) => warnings.push(m)),
      });
      stores.push(s);
      await (s as unknown as { watcher: { cancel(): Promise<void> } }).watcher.cancel();
      const c = new Etcd3({ hosts: ENDPOINTS });
      try {
        for (let i = 0; i < 20; i++) {
          await c.put(`${PREFIX}exercises/ex.nowatch`).value(String(i));
          expect((await s.current()).thresholds["ex.nowatch"]).toBe(i);
        }
        await c.delete().key(`${PREFIX}exercises/ex.nowatch`);
        expect((await s.current()).thresholds["ex.nowatch"]).toBeUndefined();
      } finally {
        c.close();
      }
      expect(s.stats.reloaded).toBe(21);
    },
    TIMEOUT_MS,
  );

  test(
    "concurrent current() calls share one read, but never a read begun before they asked",
    async () => {
      const s = await open();
      await s.set("ex.shared", 1);
      await s.current();
      // Asked together: one read for all of them.
      const before = s.stats.fresh + s.stats.caughtUp + s.stats.reloaded;
      const all = await Promise.all(Array.from({ length: 10 }, () => s.current()));
      expect(s.stats.fresh + s.stats.caughtUp + s.stats.reloaded - before).toBe(1);
      for (const snap of all) expect(snap.thresholds["ex.shared"]).toBe(1);
      // A caller that asks once a read has begun gets a read of its own, not that one's answer.
      const begun = s.stats.fresh + s.stats.caughtUp + s.stats.reloaded;
      const first = s.current();
      await new Promise<void>((r) => setImmediate(r)); // the first read is now under way (its answer needs I/O, not processed yet)
      const second = s.current();
      await Promise.all([first, second]);
      expect(s.stats.fresh + s.stats.caughtUp + s.stats.reloaded - begun).toBe(2);
      // A write acknowledged while an earlier read is under way: a caller that asks after the
      // acknowledgement must not be given that earlier read's answer.
      const c = new Etcd3({ hosts: ENDPOINTS });
      try {
        let stale = 0;
        // Values 2..100: each differs from the one before and is a valid threshold.
        for (let i = 2; i <= 100; i++) {
          const earlier = s.current();
          await c.put(`${PREFIX}exercises/ex.shared`).value(String(i));
          const later = await s.current();
          if (later.thresholds["ex.shared"] !== i) stale++;
          await earlier;
        }
        expect(stale).toBe(0);
      } finally {
        c.close();
      }
      await s.remove("ex.shared");
    },
    TIMEOUT_MS * 2,
  );

  test(
    "a value that is not a whole percent 0..100, written by etcdctl, is ignored with a warning",
    async () => {
      const s = await open();
      await s.set("ex.invalid", 40);
      const before = warnings.length;
      await etcdctl("put", `${PREFIX}exercises/ex.invalid`, "forty");
      await etcdctl("put", `${PREFIX}exercises/ex.too-high`, "150");
      await etcdctl("put", `${PREFIX}exercises/ex.fraction`, "12.5");
      await etcdctl("put", `${PREFIX}exercises/bad id!`, "10");
      const snap = await s.current();
      expect(snap.thresholds["ex.invalid"]).toBeUndefined();
      expect(snap.thresholds["ex.too-high"]).toBeUndefined();
      expect(snap.thresholds["ex.fraction"]).toBeUndefined();
      expect(Object.keys(snap.thresholds)).not.toContain("bad id!");
      const logged = warnings.slice(before).join("\n");
      expect(logged).toContain("ex.invalid");
      expect(logged).toContain("ex.too-high");
      expect(logged).toContain("ex.fraction");
      expect(logged).toContain("bad id!");
      // An invalid default leaves the configured one in force; a valid one again takes over.
      await etcdctl("put", `${PREFIX}default`, "high");
      expect((await s.current()).defaultThreshold).toBe(50);
      await etcdctl("put", `${PREFIX}default`, "65");
      expect((await s.current()).defaultThreshold).toBe(65);
      for (const k of ["ex.invalid", "ex.too-high", "ex.fraction", "bad id!"]) await etcdctl("del", `${PREFIX}exercises/${k}`);
      await s.setDefault(50);
    },
    TIMEOUT_MS,
  );

  test(
    "two stores on the same prefix see each other's writes at once",
    async () => {
      const a = await open();
      const b = await open();
      for (let i = 0; i < 20; i++) {
        const wrote = await (i % 2 === 0 ? a : b).set("ex.pair", i);
        for (const s of [a, b]) {
          const got = await s.current();
          expect(got.thresholds["ex.pair"]).toBe(i);
          expect(got.revision).toBeGreaterThanOrEqual(wrote.revision);
        }
      }
      await b.remove("ex.pair");
      expect((await a.current()).thresholds["ex.pair"]).toBeUndefined();
      await a.setDefault(71);
      expect((await b.current()).defaultThreshold).toBe(71);
      await a.setDefault(50);
    },
    TIMEOUT_MS,
  );

  test(
    "a write resolves with the store exactly as of that write, at etcd's revision of it",
    async () => {
      const s = await open();
      const before = await s.current();
      const snap = await s.set("ex.exact", 9);
      expect(snap.revision).toBeGreaterThan(before.revision);
      expect(snap.thresholds["ex.exact"]).toBe(9);
      const header = JSON.parse(await etcdctl("get", `${PREFIX}exercises/ex.exact`, "-w", "json")) as { kvs: Array<{ mod_revision: number }> };
      expect(header.kvs[0]!.mod_revision).toBe(snap.revision);
      await expect(s.set("ex.exact", 101)).rejects.toThrow(/between 0 and 100/);
      await expect(s.set("ex.exact", 1.5)).rejects.toThrow(/whole percent/);
      await expect(s.set("no/slashes", 1)).rejects.toThrow(/invalid exercise id/);
      await s.remove("ex.exact");
    },
    TIMEOUT_MS,
  );

  test(
    "close() ends the store; using it afterwards fails clearly",
    async () => {
      const s = await EtcdThresholdStore.open({ endpoints: ENDPOINTS, prefix: PREFIX, defaultThreshold: 50 });
      await s.close();
      await s.close();
      await expect(s.current()).rejects.toThrow(/closed/);
      await expect(s.set("x", 1)).rejects.toThrow(/closed/);
    },
    TIMEOUT_MS,
  );

  test(
    "an unreachable etcd fails open() with the endpoint in the message",
    async () => {
      await expect(
        EtcdThresholdStore.open({ endpoints: ["http://127.0.0.1:1"], prefix: PREFIX, defaultThreshold: 50, requestTimeoutMs: 1000 }),
      ).rejects.toThrow(/127\.0\.0\.1:1.*cannot open/);
    },
    TIMEOUT_MS,
  );

  test(
    "an etcd that does not answer (no quorum) fails reads and writes within the request deadline, the client's retries included",
    async () => {
      const proxy = await silenceableProxy(new URL(ENDPOINTS[0]!));
      const s = await EtcdThresholdStore.open({ endpoints: [proxy.url], prefix: `${BASE}deadline/`, defaultThreshold: 50, requestTimeoutMs: 1000 });
      stores.push(s);
      await s.set("ex.deadline", 40);
      proxy.silent = true;
      const took: number[] = [];
      for (const op of [() => s.current(), () => s.set("ex.deadline", 60), () => s.ping()]) {
        const t0 = performance.now();
        // Our deadline, or the etcd client's circuit breaker opened by the watch's own timeouts meanwhile:
        // either way refused, and (below) within the bound.
        await expect(op()).rejects.toThrow(/within 1000 ms|circuit breaker is open/);
        took.push(performance.now() - t0);
      }
      proxy.silent = false;
      proxy.close();
      // Each attempt has its own 1 s deadline and the client makes up to 3: 3 s and more without the bound.
      expect(Math.max(...took)).toBeLessThan(1500);
    },
    TIMEOUT_MS,
  );
});

/** A TCP proxy to `target` that, once `silent`, forwards nothing either way: a peer that holds the connection and never answers. */
async function silenceableProxy(target: URL): Promise<{ url: string; silent: boolean; close: () => void }> {
  type Side = { peer?: import("bun").Socket<Side>; early: Uint8Array[] };
  const state = { silent: false };
  const server = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { early: [] };
        void Bun.connect<Side>({
          hostname: target.hostname,
          port: Number(target.port),
          socket: {
            open(upstream) {
              upstream.data = { peer: client, early: [] };
              client.data.peer = upstream;
              for (const b of client.data.early) upstream.write(b);
            },
            data(upstream, b) {
              if (!state.silent) upstream.data.peer?.write(b);
            },
            close(upstream) {
              upstream.data.peer?.end();
            },
          },
        });
      },
      data(client, b) {
        if (state.silent) return;
        if (client.data.peer) client.data.peer.write(b);
        else client.data.early.push(new Uint8Array(b));
      },
      close(client) {
        client.data.peer?.end();
      },
    },
  });
  return Object.assign(state, { url: `http://127.0.0.1:${server.port}`, close: () => server.stop(true) });
}
