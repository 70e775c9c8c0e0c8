import { afterAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
import { connect } from "node:net";
import { join } from "node:path";
import { ALERT_GROUP } from "../modules/alert/alert.ts";
import { DISPATCH_GROUP } from "../modules/dispatch/dispatch.ts";
import { SINK_GROUP } from "../modules/sink/sink.ts";
import { EmbeddedLogBus } from "../src/adapters/embedded/log-bus.ts";
import { TOPICS } from "../src/ports/bus.ts";
import { cleanup, eventually, ingest, postReports, startAcu, tempDir } from "./support/acu.ts";
import { readLake } from "./support/lake.ts";

const dir = tempDir("shutdown");
afterAll(() => cleanup(dir));

const report = (studentId: string, i: number) => ({
  studentId,
  exerciseId: "c01.ex00",
  score: i % 100,
  latitude: 48.85,
  longitude: 2.35,
  timestamp: 1764230400000 + i,
});

/** Every consumer group of an all-in-one process and the topics it reads (modules/alert, sink, dispatch). */
const GROUPS: Array<[group: string, topics: string[]]> = [
  [ALERT_GROUP, [TOPICS.reports]],
  [SINK_GROUP, [TOPICS.reports, TOPICS.alerts, TOPICS.incidentEvents]],
  [DISPATCH_GROUP, [TOPICS.alerts]],
];

/** After the process is gone: each group's committed offset beside the end offset, per topic and partition, and the reports' total. */
async function offsetsAt(dataDir: string) {
  const bus = await EmbeddedLogBus.open(join(dataDir, "bus"), {});
  try {
    const groups: Record<string, { committed: Array<number | null>; end: number[] }> = {};
    for (const [group, topics] of GROUPS)
      for (const topic of topics) {
        const end = await bus.endOffsets(topic);
        groups[`${group} ${topic}`] = { committed: end.map((_, p) => bus.committedOffset(group, topic, p) ?? null), end };
      }
    return { groups, reportsOnBus: (await bus.endOffsets(TOPICS.reports)).reduce((a, b) => a + b, 0) };
  } finally {
    await bus.close();
  }
}

test("SIGTERM: input refused while draining, the request in flight answered, work finished and committed, exit 0 within 10 s", async () => {
  // A long flush age: only the shutdown can have written these reports to the lake.
  const acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "600000" } });
  const batch = Array.from({ length: 500 }, (_, i) => report(`s${i}`, i));
  expect((await postReports(acu.url, batch)).status).toBe(202);
  await Bun.sleep(300);
  // A request still being received at the signal keeps the server, and so the drain, waiting for it.
  const inFlight = JSON.stringify([report("in-flight", 1)]);
  const sock = connect(acu.port, "127.0.0.1");
  await new Promise<void>((r) => sock.once("connect", () => r()));
  let answer = "";
  sock.on("data", (d) => (answer += d.toString()));
  sock.write(
    `POST /api/reports HTTP/1.1\r\nHost: x\r\nAuthorization: ${ingest.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${inFlight.length}\r\n\r\n${inFlight.slice(0, 10)}`,
  );
  await Bun.sleep(200);
  const t0 = Date.now();
  acu.proc.kill("SIGTERM");
  await eventually("the drain begun", async () => acu.stdout().includes("SIGTERM: stopping"), 5000, 10);
  // New input while draining: refused (the port closed, or 503), never accepted.
  const late = await postReports(acu.url, [report("during-drain", 2)]).then(
    (r) => ({ status: r.status, retryAfter: r.headers.get("retry-after") }),
    (e: Error & { code?: string }) => ({ status: 0, error: e.code ?? e.message }),
  );
  console.log(`shutdown: a POST during the drain got ${JSON.stringify(late)}`);
  expect({ stillDraining: acu.proc.exitCode === null && answer === "" }).toEqual({ stillDraining: true });
  if (late.status === 0) expect(late).toEqual({ status: 0, error: "ECONNREFUSED" });
  else expect(late).toEqual({ status: 503, retryAfter: expect.stringMatching(/^[1-9][0-9]*$/) });
  sock.write(inFlight.slice(10));
  await eventually("the in-flight request answered", async () => answer.startsWith("HTTP/1.1 202"), 10_000, 20);
  sock.end();
  expect(await acu.proc.exited).toBe(0);
  expect(Date.now() - t0).toBeLessThan(10_000);
  // Every group committed up to the end of every topic it reads: nothing left for a restart to redo.
  const after = await offsetsAt(dir);
  for (const [name, o] of Object.entries(after.groups)) expect({ name, committed: o.committed }).toEqual({ name, committed: o.end });
  expect(after.reportsOnBus).toBe(501);
  const lake = await readLake(dir, "reports");
  expect(lake.rows.length).toBe(501);
  expect(lake.rows.filter((r) => r.studentId === "in-flight").length).toBe(1);
  expect(lake.rows.filter((r) => r.studentId === "during-drain").length).toBe(0);
  // The restart resumes after what was committed: nothing is written twice.
  const again = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "200" } });
  await Bun.sleep(1500);
  expect(await again.stop("SIGINT")).toBe(0);
  expect((await readLake(dir, "reports")).rows.length).toBe(501);
});

test("a second process cannot take over a data dir in use", async () => {
  const d = tempDir("owned");
  const acu = await startAcu({ dataDir: d });
  try {
    await expect(startAcu({ dataDir: d, args: ["--role=alert"] })).rejects.toThrow(/in use by process/);
  } finally {
    await acu.stop();
    cleanup(d);
  }
});
