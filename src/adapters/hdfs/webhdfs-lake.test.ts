import { afterAll, describe, expect, test } from "bun:test";
import { lakeContract } from "../../ports/lake.contract.ts";
import { decodeParquet, encodeReports, type LakeReport } from "../../formats/parquet.ts";
import { WebHdfsLake } from "./webhdfs-lake.ts";

/**
 * Runs against a real HDFS: ACU_HDFS_URL=http://127.0.0.1:19870 (the NameNode's HTTP address, WebHDFS on),
 * ACU_HDFS_NAMENODE=hdfs://127.0.0.1:19000 optional (for uri()). `scripts/cluster up --only hdfs` starts one.
 * Each run writes under a fresh random root and deletes it at the end.
 */
const URL_ = process.env.ACU_HDFS_URL ?? "";
const NAMENODE = process.env.ACU_HDFS_NAMENODE;
if (!URL_) console.log("webhdfs-lake.test.ts: skipped, ACU_HDFS_URL is not set (the NameNode HTTP address, e.g. http://127.0.0.1:19870)");

const RUN = `/acu-test/${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
const ROOT = `${RUN}/lake`;

/** One raw WebHDFS request (outside the adapter), for setting up and checking the test's own files. */
async function webhdfs(method: string, absPath: string, op: string, query: Record<string, string> = {}, body?: Uint8Array): Promise<Response> {
  const q = new URLSearchParams({ op, "user.name": "acu", ...query });
  const path = absPath.split("/").map(encodeURIComponent).join("/");
  return fetch(`${URL_}/webhdfs/v1${path}?${q}`, { method, body: body as Uint8Array<ArrayBuffer> | undefined });
}

/** What WebHdfsLake.write leaves when the process dies before its rename: `.<name>.<random>.inprogress`. */
async function plantLeftover(path: string, bytes: Uint8Array): Promise<void> {
  const abs = `${ROOT}/${path}`;
  const slash = abs.lastIndexOf("/");
  const tmp = `${abs.slice(0, slash)}/.${abs.slice(slash + 1)}.deadbeef0000.inprogress`;
  const step1 = await webhdfs("PUT", tmp, "CREATE", { overwrite: "true", noredirect: "true" });
  const { Location } = (await step1.json()) as { Location: string };
  const step2 = await fetch(Location, { method: "PUT", body: bytes as Uint8Array<ArrayBuffer> });
  expect(step2.status).toBe(201);
}

async function rawNames(absDir: string): Promise<string[]> {
  const res = await webhdfs("GET", absDir, "LISTSTATUS");
  if (res.status === 404) return [];
  const body = (await res.json()) as { FileStatuses: { FileStatus: Array<{ pathSuffix: string }> } };
  return body.FileStatuses.FileStatus.map((s) => s.pathSuffix).sort();
}

describe.skipIf(!URL_)("WebHDFS lake", () => {
  const lakes: WebHdfsLake[] = [];
  const open = async (root = ROOT) => {
    const l = await WebHdfsLake.open({ url: URL_, root, namenode: NAMENODE, timeoutMs: 30_000 });
    lakes.push(l);
    return l;
  };

  afterAll(async () => {
    for (const l of lakes) await l.close().catch(() => {});
    const res = await webhdfs("DELETE", RUN, "DELETE", { recursive: "true" });
    expect(res.ok).toBe(true);
  });

  lakeContract("webhdfs", () => open(), { plantLeftover });

  test("Parquet reports written through WebHDFS read back byte-identical and decode", async () => {
    const lake = await open();
    const rows: LakeReport[] = Array.from({ length: 5000 }, (_, i) => ({
      reportId: `r${i}`,
      studentId: `s${i % 97}`,
      exerciseId: `ex.${i % 13}`,
      score: (i * 7) % 101,
      latitude: 43 + (i % 50) / 10,
      longitude: 1 + (i % 40) / 10,
      timestamp: 1_764_230_400_000 + i * 1000,
      region: i % 5 === 0 ? "unknown" : "Occitanie",
      partition: 3,
      offset: 1000 + i,
    }));
    const bytes = encodeReports(rows);
    const path = "reports/date=2026-11-27/hour=09/student-reports-p3-1000-5999.parquet";
    await lake.write(path, bytes);
    expect(await lake.list("reports/")).toEqual([{ path, size: bytes.byteLength }]);
    const back = await lake.read(path);
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    const t = decodeParquet(back);
    expect(t.numRows).toBe(5000);
    expect(t.getChild("reportId")?.get(4999)).toBe("r4999");
    expect(Number(t.getChild("offset")?.get(0))).toBe(1000);
    expect(t.getChild("region")?.get(0)).toBe("unknown");
    // The same bytes are in HDFS under the root, where Spark would read them.
    const raw = await fetch(`${URL_}/webhdfs/v1${ROOT}/reports/date%3D2026-11-27/hour%3D09/student-reports-p3-1000-5999.parquet?op=OPEN&user.name=acu`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
  }, 60_000);

  test("a write publishes by rename: the temporary name is gone afterwards", async () => {
    const lake = await open();
    await lake.write("deployments/date=2026-11-27/hour=09/alerts-p0-0-9.parquet", new Uint8Array([1, 2, 3]));
    expect(await rawNames(`${ROOT}/deployments/date=2026-11-27/hour=09`)).toEqual(["alerts-p0-0-9.parquet"]);
  });

  test("removeLeftovers deletes in-progress files once they are old enough, and nothing else", async () => {
    const root = `${RUN}/leftovers`;
    const lake = await open(root);
    const dir = "reports/date=2026-11-27/hour=09";
    await lake.write(`${dir}/kept.parquet`, new Uint8Array([7]));
    const step1 = await webhdfs("PUT", `${root}/${dir}/.lost.parquet.0123456789ab.inprogress`, "CREATE", { overwrite: "true", noredirect: "true" });
    await fetch(((await step1.json()) as { Location: string }).Location, { method: "PUT", body: new Uint8Array([1]) });
    expect(await lake.removeLeftovers()).toBe(0); // younger than the default 10 minutes: maybe another writer's
    expect(await rawNames(`${root}/${dir}`)).toEqual([".lost.parquet.0123456789ab.inprogress", "kept.parquet"]);
    expect(await lake.removeLeftovers({ minAgeMs: 0 })).toBe(1);
    expect(await rawNames(`${root}/${dir}`)).toEqual(["kept.parquet"]);
  });

  test("uri names the file on the NameNode (hdfs://) or, without it, as webhdfs://", async () => {
    const lake = await open();
    if (NAMENODE) expect(lake.uri("reports/x.parquet")).toBe(`${NAMENODE}${ROOT}/reports/x.parquet`);
    const bare = await WebHdfsLake.open({ url: URL_, root: ROOT });
    expect(bare.uri("reports/x.parquet")).toBe(`webhdfs://${new URL(URL_).host}${ROOT}/reports/x.parquet`);
  });

  test("HDFS down: open and every operation reject with an error naming the URL", async () => {
    // A port nobody listens on.
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = server.port;
    server.stop(true);
    const url = `http://127.0.0.1:${port}`;
    const t0 = Date.now();
    const err = await WebHdfsLake.open({ url, root: ROOT, retries: 1 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(url);
    expect(err!.message).toContain("MKDIRS");
    expect(Date.now() - t0).toBeLessThan(10_000);

    // A lake that was reachable and no longer is: a stand-in NameNode answers open(), then goes away.
    const fake = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ boolean: true }) });
    const gone = `http://127.0.0.1:${fake.port}`;
    const lake = await WebHdfsLake.open({ url: gone, root: ROOT, retries: 1 });
    await fake.stop(true);
    await expect(lake.write("reports/x.parquet", new Uint8Array([1]))).rejects.toThrow("WebHDFS CREATE reports/x.parquet");
    await expect(lake.write("reports/x.parquet", new Uint8Array([1]))).rejects.toThrow(gone);
    await expect(lake.read("reports/x.parquet")).rejects.toThrow(gone);
    await expect(lake.list("reports/")).rejects.toThrow(gone);
  });

  test("ping rejects, naming HDFS's exception, once the lake's root is gone", async () => {
    const root = `${RUN}/ping`;
    const lake = await open(root);
    await lake.ping();
    expect((await webhdfs("DELETE", root, "DELETE", { recursive: "true" })).ok).toBe(true);
    await expect(lake.ping()).rejects.toThrow("FileNotFoundException");
  });

  test("HTTP errors carry the HDFS exception: reading a folder", async () => {
    const lake = await open();
    await lake.write("folder/inside.bin", new Uint8Array([1]));
    const err = await lake.read("folder").then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/WebHDFS OPEN folder .*HTTP \d{3} \w+Exception/);
  });
});

describe("WebHDFS lake against a stand-in NameNode", () => {
  test("a write whose published file is not complete (fewer bytes than sent) rejects and removes it", async () => {
    // Answers like HDFS, except that after the rename the file reports `lengthAfter` bytes: what a file
    // still under construction, or cut short by a DataNode going away, looks like at the NameNode.
    let lengthAfter = 0;
    const ops: string[] = [];
    const server: ReturnType<typeof Bun.serve> = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req): Promise<Response> {
        const u = new URL(req.url);
        const op = u.searchParams.get("op") ?? "DATA";
        ops.push(`${op} ${decodeURIComponent(u.pathname).replace(/^.*\//, "")}`);
        if (op === "CREATE" && u.searchParams.get("noredirect")) return Response.json({ Location: `http://127.0.0.1:${server.port}/data${u.pathname}` });
        if (op === "DATA") {
          await req.arrayBuffer();
          return new Response(null, { status: 201 });
        }
        if (op === "GETFILESTATUS") return Response.json({ FileStatus: { pathSuffix: "", type: "FILE", length: lengthAfter, modificationTime: Date.now() } });
        return Response.json({ boolean: true });
      },
    });
    try {
      const lake = await WebHdfsLake.open({ url: `http://127.0.0.1:${server.port}`, root: "/lake", retries: 0 });
      const path = "reports/date=2026-11-27/hour=09/student-reports-p0-94-1902.parquet";
      const err = await lake.write(path, new Uint8Array(1000)).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toContain("wrote 1000 bytes, the NameNode then held FILE of 0 bytes");
      expect(ops.at(-1)).toBe("DELETE student-reports-p0-94-1902.parquet");
      lengthAfter = 1000;
      ops.length = 0;
      await lake.write(path, new Uint8Array(1000));
      expect(ops.filter((o) => o.startsWith("DELETE"))).toEqual([]);
      expect(ops.at(-1)).toBe("GETFILESTATUS student-reports-p0-94-1902.parquet");
    } finally {
      await server.stop(true);
    }
  });

  test("createExclusive: a rename done whose answer was lost answers true (its bytes read back); a name another creator took answers false", async () => {
    // A NameNode of files in memory; `loseNext` does the next RENAME, then answers 500 as if the answer was lost.
    const files = new Map<string, Uint8Array>();
    let loseNext = false;
    const server: ReturnType<typeof Bun.serve> = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req): Promise<Response> {
        const u = new URL(req.url);
        const op = u.searchParams.get("op") ?? "DATA";
        const path = decodeURIComponent(u.pathname).replace(/^(\/data)?\/webhdfs\/v1/, "");
        const missing = () => Response.json({ RemoteException: { exception: "FileNotFoundException", message: path } }, { status: 404 });
        if (op === "CREATE") return Response.json({ Location: `http://127.0.0.1:${server.port}/data${u.pathname}` });
        if (op === "DATA") {
          files.set(path, new Uint8Array(await req.arrayBuffer()));
          return new Response(null, { status: 201 });
        }
        if (op === "GETFILESTATUS") {
          const f = files.get(path);
          return f ? Response.json({ FileStatus: { pathSuffix: "", type: "FILE", length: f.byteLength, modificationTime: Date.now() } }) : missing();
        }
        if (op === "OPEN") return files.has(path) ? new Response(files.get(path) as Uint8Array<ArrayBuffer>) : missing();
        if (op === "RENAME") {
          const to = u.searchParams.get("destination")!;
          if (!files.has(path)) return missing();
          if (files.has(to)) return Response.json({ RemoteException: { exception: "FileAlreadyExistsException", message: to } }, { status: 403 });
          files.set(to, files.get(path)!);
          files.delete(path);
          if (!loseNext) return new Response(null, { status: 200 });
          loseNext = false;
          return new Response("lost", { status: 500 });
        }
        if (op === "DELETE") files.delete(path);
        return Response.json({ boolean: true });
      },
    });
    try {
      const lake = await WebHdfsLake.open({ url: `http://127.0.0.1:${server.port}`, root: "/lake", retries: 1 });
      const ours = new TextEncoder().encode('{"first":0,"last":99}');
      loseNext = true;
      expect(await lake.createExclusive("_chain/t/p0/000000000000", ours)).toBe(true);
      expect(files.get("/lake/_chain/t/p0/000000000000")).toEqual(ours);
      expect(await lake.createExclusive("_chain/t/p0/000000000000", new TextEncoder().encode('{"first":0,"last":7}'))).toBe(false);
      expect(files.get("/lake/_chain/t/p0/000000000000")).toEqual(ours);
      // No temporary file left behind by either.
      expect([...files.keys()]).toEqual(["/lake/_chain/t/p0/000000000000"]);
    } finally {
      await server.stop(true);
    }
  });
});
