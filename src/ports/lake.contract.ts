import { afterAll, expect, test } from "bun:test";
import type { Lake } from "./lake.ts";

export interface LakeContractOptions {
  /**
   * Leaves what a write cut short by a crash leaves behind for `path` (the adapter's own temporary name,
   * next to it), so the suite can check such leftovers are never listed. Without it that check is skipped.
   */
  plantLeftover?: (path: string, bytes: Uint8Array) => Promise<void>;
}

/**
 * The behaviour every Lake adapter must have. `open` returns a lake over the same storage each time; every
 * test writes under its own random prefix, so runs and tests stay independent (the caller removes the
 * storage afterwards).
 */
export function lakeContract(name: string, open: () => Promise<Lake>, opts: LakeContractOptions = {}) {
  const lakes: Lake[] = [];
  const fresh = async () => {
    const l = await open();
    lakes.push(l);
    return l;
  };
  afterAll(async () => {
    for (const l of lakes) await l.close().catch(() => {});
  });
  const prefix = () => `contract-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}/`;
  const T = 60_000;

  test(
    `${name}: write then read returns the same bytes (empty, small, 5 MiB, a view)`,
    async () => {
      const lake = await fresh();
      const p = prefix();
      const small = new TextEncoder().encode("PAR1 hello lake PAR1");
      const big = randomBytes(5 * 1024 * 1024);
      await lake.write(`${p}empty.bin`, new Uint8Array(0));
      await lake.write(`${p}small.bin`, small);
      await lake.write(`${p}a/b/big.bin`, big);
      expect((await lake.read(`${p}empty.bin`)).byteLength).toBe(0);
      expect(same(await lake.read(`${p}small.bin`), small)).toBe(true);
      const back = await lake.read(`${p}a/b/big.bin`);
      expect(back.byteLength).toBe(big.byteLength);
      expect(same(back, big)).toBe(true);
      // Another instance over the same storage sees the same bytes.
      expect(same(await (await fresh()).read(`${p}a/b/big.bin`), big)).toBe(true);
      // A view into a larger buffer is written as exactly its own bytes.
      const view = big.subarray(1000, 1000 + 4321);
      await lake.write(`${p}view.bin`, view);
      const viewBack = await lake.read(`${p}view.bin`);
      expect(viewBack.byteLength).toBe(4321);
      expect(same(viewBack, view)).toBe(true);
    },
    T,
  );

  test(
    `${name}: list returns the complete files under a prefix, recursively, sorted, relative to the root, with sizes`,
    async () => {
      const lake = await fresh();
      const p = prefix();
      const files: Record<string, number> = {
        "reports/date=2026-11-27/hour=10/student-reports-p0-100-199.parquet": 300,
        "reports/date=2026-11-27/hour=09/student-reports-p1-0-49.parquet": 70,
        "reports/date=2026-11-27/hour=09/student-reports-p0-0-99.parquet": 1234,
        "reports/date=2026-11-28/hour=00/student-reports-p2-5-6.parquet": 1,
        "deployments/date=2026-11-27/hour=09/alerts-p0-0-3.parquet": 55,
        "reportsX/not-under-reports.parquet": 9,
      };
      // Written out of order, in parallel.
      await Promise.all(Object.entries(files).map(([f, n]) => lake.write(p + f, randomBytes(n))));
      const want = Object.keys(files)
        .filter((f) => f.startsWith("reports/"))
        .sort()
        .map((f) => ({ path: p + f, size: files[f]! }));
      expect(await lake.list(`${p}reports/`)).toEqual(want);
      expect(await lake.list(`${p}reports`)).toEqual(want);
      const all = await lake.list(p);
      expect(all.map((f) => f.path)).toEqual(
        Object.keys(files)
          .map((f) => p + f)
          .sort(),
      );
      expect(all.find((f) => f.path.endsWith("alerts-p0-0-3.parquet"))?.size).toBe(55);
      expect(await lake.list(`${p}nothing-here/`)).toEqual([]);
    },
    T,
  );

  test(
    `${name}: list leaves out hidden names (starting with . or _) below the prefix, and all a hidden folder holds`,
    async () => {
      const lake = await fresh();
      const p = prefix();
      const hour = "reports/date=2026-11-27/hour=09";
      const shown = [`${hour}/student-reports-p0-000000000000-000000000009.parquet`, `${hour}/a_b.parquet`];
      const hidden = [
        "reports/_temporary/0/_temporary/attempt_0/part-00000.parquet",
        `${hour}/_SUCCESS`,
        `${hour}/.student-reports-p0-000000000000-000000000009.parquet.crc`,
        `${hour}/_student-reports-p1-000000000000-000000000009.parquet`,
        `${hour}/.hidden/student-reports-p2-000000000000-000000000009.parquet`,
      ];
      await Promise.all([...shown, ...hidden].map((f) => lake.write(p + f, randomBytes(10))));
      expect((await lake.list(`${p}reports/`)).map((f) => f.path)).toEqual(shown.map((f) => p + f).sort());
    },
    T,
  );

  test(
    `${name}: list never shows a file being written or a leftover of an interrupted write`,
    async () => {
      const lake = await fresh();
      const p = prefix();
      const path = `${p}reports/date=2026-11-27/hour=09/slow.parquet`;
      const bytes = randomBytes(8 * 1024 * 1024);
      if (opts.plantLeftover) {
        await opts.plantLeftover(`${p}reports/date=2026-11-27/hour=09/crashed.parquet`, randomBytes(1000));
        await opts.plantLeftover(path, randomBytes(10));
      }
      let done = false;
      const writing = lake.write(path, bytes).finally(() => (done = true));
      const seen: string[][] = [];
      while (!done) {
        const files = await lake.list(`${p}reports/`);
        seen.push(files.map((f) => f.path));
        // A listed file is complete: never a temporary name, never a partial size.
        for (const f of files) {
          expect(f.path).toBe(path);
          expect(f.size).toBe(bytes.byteLength);
        }
        await Bun.sleep(1);
      }
      await writing;
      expect(seen.length).toBeGreaterThan(0);
      expect(await lake.list(`${p}reports/`)).toEqual([{ path, size: bytes.byteLength }]);
    },
    T,
  );

  test(
    `${name}: a rewrite of the same path replaces the content (one file, the new bytes)`,
    async () => {
      const lake = await fresh();
      const p = prefix();
      const path = `${p}reports/date=2026-11-27/hour=09/student-reports-p0-0-99.parquet`;
      const first = randomBytes(4000);
      const second = randomBytes(1500);
      const third = randomBytes(70_000);
      await lake.write(path, first);
      await lake.write(path, second);
      expect(await lake.list(p)).toEqual([{ path, size: second.byteLength }]);
      expect(same(await lake.read(path), second)).toBe(true);
      await (await fresh()).write(path, third);
      expect(await lake.list(p)).toEqual([{ path, size: third.byteLength }]);
      expect(same(await lake.read(path), third)).toBe(true);
    },
    T,
  );

  test(
    `${name}: createExclusive creates a file once: of 8 concurrent creators (two lake instances) exactly one is answered true, and its bytes stay`,
    async () => {
      const [a, b] = [await fresh(), await fresh()];
      const p = prefix();
      const path = `${p}_chain/student-reports/p0/000000000100`;
      const contents = Array.from({ length: 8 }, (_, i) => new TextEncoder().encode(`{"creator":${i},"last":${200 + i}}`));
      const answers = await Promise.all(contents.map((c, i) => (i % 2 === 0 ? a : b).createExclusive(path, c)));
      expect(answers.filter((x) => x).length).toBe(1);
      const winner = contents[answers.indexOf(true)]!;
      expect(same(await a.read(path), winner)).toBe(true);
      expect(await b.list(`${p}_chain/`)).toEqual([{ path, size: winner.byteLength }]);
      // Later: another content is refused, the same content (a retry whose answer was lost) is answered true.
      expect(await b.createExclusive(path, new TextEncoder().encode("another"))).toBe(false);
      expect(await a.createExclusive(path, winner)).toBe(true);
      expect(same(await b.read(path), winner)).toBe(true);
      // A file written the ordinary way counts as existing too; a fresh path in a fresh folder is created.
      await a.write(`${p}plain.bin`, randomBytes(10));
      expect(await b.createExclusive(`${p}plain.bin`, randomBytes(10))).toBe(false);
      expect(await b.createExclusive(`${p}x/y/z`, winner)).toBe(true);
      // The chain's folder is hidden below a prefix above it (a name starting with "_"), listed from within.
      expect((await a.list(p)).map((f) => f.path)).toEqual([`${p}plain.bin`, `${p}x/y/z`].sort());
      expect((await a.list(`${p}_chain/`)).map((f) => f.path)).toEqual([path]);
    },
    T,
  );

  test(
    `${name}: reading a missing path rejects with an error naming the path`,
    async () => {
      const lake = await fresh();
      const p = prefix();
      const missing = `${p}reports/date=2026-11-27/hour=09/missing.parquet`;
      const err = await lake.read(missing).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toContain(missing);
    },
    T,
  );

  test(
    `${name}: paths with '..' or a leading '/' are refused`,
    async () => {
      const lake = await fresh();
      const p = prefix();
      for (const bad of ["../escape.parquet", `${p}../../escape.parquet`, `${p}a/../b.parquet`, "/abs/escape.parquet"]) {
        await expect(lake.write(bad, new Uint8Array([1]))).rejects.toThrow(bad);
        await expect(lake.read(bad)).rejects.toThrow(bad);
      }
      await expect(lake.list("../")).rejects.toThrow("..");
      expect(await lake.list(p)).toEqual([]);
    },
    T,
  );

  test(`${name}: uri names the file for other engines`, async () => {
    const lake = await fresh();
    const u = lake.uri("reports/date=2026-11-27/hour=09/x.parquet");
    expect(u).toMatch(/^[a-z]+:\/\//);
    expect(u.endsWith("/reports/date=2026-11-27/hour=09/x.parquet")).toBe(true);
  });

  test(
    `${name}: ping resolves while the lake is open, and rejects once it is closed`,
    async () => {
      const lake = await open();
      await lake.ping();
      await lake.ping();
      await lake.close();
      await expect(lake.ping()).rejects.toThrow();
    },
    T,
  );
}

/** n random bytes (getRandomValues fills at most 64 KiB per call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
