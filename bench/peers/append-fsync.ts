/**
 * The peer of the embedded-ingest benchmark: the physical ceiling of "take a batch of reports over HTTP
 * and answer 202 once it is durable on this machine's disk". A bare Bun.serve (no router, no framework)
 * that, for POST /api/reports:
 *
 * 1. checks the Authorization header against the ingest token (one string comparison);
 * 2. reads the body and JSON.parses it (so the request is at least read as what it is, not copied as
 *    bytes), and takes it only if it is a non-empty array of objects: `accepted` = its length;
 * 3. appends it as one frame `[u32 length][u32 crc32][body bytes]` (the embedded journal's frame header:
 *    what makes a torn tail detectable) to one file, under the embedded journal's fsync policy: group
 *    commit with the same `Coalescer` (src/coalescer.ts, begun on a microtask) — requests that arrive
 *    while a write is under way share the next one: one positional write of all their frames, then one
 *    fdatasync, before any of them is answered;
 * 4. answers 202 `{"accepted": n}`, as acu does.
 *
 * What it does not do, and acu does: validate each field, look up the exercise catalogue, derive each
 * report's id (a hash) and region (a polygon lookup), re-encode each report as its own record keyed by
 * student, index the records for consumers — and, all-in-one, run the other roles on the same cores.
 *
 * bun bench/peers/append-fsync.ts <port> <file> <ingest token>
 * GET /readyz answers 200 once the file is open; GET /stats: frames written, fdatasyncs, bytes.
 */
import { open } from "node:fs/promises";
import { Coalescer } from "../../src/coalescer.ts";

const [port, path, token] = process.argv.slice(2) as [string, string, string];
const fh = await open(path, "w+");
const bearer = `Bearer ${token}`;
let size = 0;
/** Frames written and fdatasyncs made (one per group), for GET /stats. */
let frames = 0,
  syncs = 0;

const appends = new Coalescer<Uint8Array>(
  async (group) => {
    const all = Buffer.concat(group);
    let off = 0;
    while (off < all.length) off += (await fh.write(all, off, all.length - off, size + off)).bytesWritten;
    await fh.datasync();
    size += all.length;
    frames += group.length;
    syncs++;
  },
  { begin: "microtask" },
);

const reply = (status: number, body: unknown) => Response.json(body, { status });
const dec = new TextDecoder();

const server = Bun.serve({
  port: Number(port),
  hostname: "127.0.0.1",
  // acu's bound on a request body (MAX_BODY_BYTES is smaller; the bench's bodies are far below both).
  maxRequestBodySize: 8 * 1024 * 1024,
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/readyz") return new Response("ok");
    if (url.pathname === "/stats") return reply(200, { frames, syncs, bytes: size });
    if (url.pathname !== "/api/reports" || req.method !== "POST") return reply(404, { error: "not found" });
    if (req.headers.get("authorization") !== bearer) return reply(401, { error: "bad token" });
    const body = new Uint8Array(await req.arrayBuffer());
    let reports: unknown;
    try {
      reports = JSON.parse(dec.decode(body));
    } catch {
      return reply(400, { error: "not JSON" });
    }
    if (!Array.isArray(reports) || reports.length === 0 || !reports.every((r) => typeof r === "object" && r !== null))
      return reply(400, { error: "not a batch of reports" });
    const frame = new Uint8Array(8 + body.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, body.length, true);
    view.setUint32(4, Bun.hash.crc32(body) >>> 0, true);
    frame.set(body, 8);
    try {
      await appends.add(frame);
    } catch (e) {
      return reply(503, { error: (e as Error).message });
    }
    return reply(202, { accepted: reports.length });
  },
});

const stop = async () => {
  await appends.idle();
  await fh.close();
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
