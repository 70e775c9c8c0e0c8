import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { HttpDispatchClient, startPatrolSimulator } from "../modules/patrols/index.ts";
import { runSignal } from "../modules/signal/index.ts";
import { FileTokenStore } from "../src/adapters/embedded/file-tokens.ts";
import { EmbeddedLogBus } from "../src/adapters/embedded/log-bus.ts";
import { LocalLake } from "../src/adapters/embedded/local-lake.ts";
import { parseCommandLine } from "../src/cli/commands.ts";
import { parsePatrolsCommand, runPatrolsCommand } from "../src/cli/patrols.ts";
import { decodeIncidentEvent, type IncidentEvent } from "../src/domain/incident-event.ts";
import { auditIncidentHistory } from "../src/domain/incident-history.ts";
import { deriveReportId } from "../src/domain/report.ts";
import { silentLogger } from "../src/log.ts";
import { TOPICS } from "../src/ports/bus.ts";
import { cleanup, eventually, operator, postReports, startAcu, tempDir, TOKENS, viewer } from "./support/acu.ts";
import {
  byEventId,
  expectedResponseRows,
  isActive,
  listIncidents,
  listPatrols,
  ListingSampler,
  readIncidentEvents,
  responseRows,
  strugglingReport,
} from "./support/dispatch.ts";
import { alertIdFor } from "../src/domain/deployment-order.ts";

setDefaultTimeout(600_000);

/**
 * The dispatch loop end to end on embedded engines: acu --role=all, 20 simulated patrols (half with patrol
 * tokens of their own, half acting with the operator's) driven through the HTTP API and their WebSocket
 * streams (acknowledging, driving, resolving, some ignoring so the 3 s acknowledgement time-out shows,
 * some streams dropped and reopened from their cursor), `acu signal`
 * traffic plus a few students who keep failing, for SECONDS. Then: every failing report in exactly one
 * incident; never two open incidents for a student nor two incidents for a patrol (every listing sampled,
 * and the whole history from the lake audited); every incident resolved; the lake's `incidents/` equal to
 * `incident-events` on the bus; the response-time analytics equal to a recomputation from the lake.
 */
const SECONDS = Number(process.env.ACU_DISPATCH_E2E_SECONDS ?? 40);
const RATE = 200;
const PATROLS = 20;
const DEFAULT_THRESHOLD = 20;
const STRUGGLING = { students: 30, rounds: 4 };
const ACK_TIMEOUT = "3";
const dir = tempDir("dispatch-e2e");
afterAll(() => cleanup(dir));

test(`dispatch end to end: ${PATROLS} simulated patrols, ${RATE} reports/s for ${SECONDS} s — every order in one incident, one patrol at a time, all resolved, lake = bus, exact response times`, async () => {
  // Half the crews hold a patrol token of their own (acting for their patrol only), the others act with the operator's.
  const tokens = FileTokenStore.open(join(dir, "tokens.json"));
  const patrolTokens: Record<string, string> = {};
  const tokenIds = new Map<string, string>();
  for (let i = 1; i <= PATROLS / 2; i++) {
    const id = `sim-${String(i).padStart(2, "0")}`;
    const t = await tokens.create("patrol", "e2e", id);
    patrolTokens[id] = t.token;
    tokenIds.set(id, t.id);
  }
  await tokens.close();
  const acu = await startAcu({ dataDir: dir, env: { ACU_DISPATCH_ACK_TIMEOUT: ACK_TIMEOUT, ACU_SINK_FLUSH_MS: "1000" } });
  let exited: number | null = null;
  try {
    expect((await fetch(`${acu.url}/api/thresholds`, { method: "PUT", headers: operator, body: JSON.stringify({ default: DEFAULT_THRESHOLD }) })).status).toBe(
      200,
    );
    const client = new HttpDispatchClient({ target: acu.url, token: TOKENS.operator, patrolTokens });
    const sim = await startPatrolSimulator(
      { client, count: PATROLS, seed: 13, speedKmh: 1_000_000, ackAfterMs: 400, resolveAfterMs: 600, positionEveryMs: 250, ignoreRate: 0.1, reportEveryMs: 0 },
      silentLogger,
    );
    expect((await listPatrols(acu.url)).filter((p) => p.patrolId.startsWith("sim-")).map((p) => p.status)).toEqual(Array(PATROLS).fill("available"));
    const sampler = new ListingSampler(() => [acu.url]).start();

    const accepted: Array<{ studentId: string; exerciseId: string; score: number; timestamp: number }> = [];
    const traffic = runSignal(
      { target: acu.url, rate: RATE, count: RATE * SECONDS, seed: 17, token: TOKENS.ingest, onAccepted: (b) => accepted.push(...b) },
      () => {},
    );
    // Twice during the run, each of these students fails twice within 200 ms: the second order finds the
    // incident the first opened still open.
    const struggling = (async () => {
      for (let round = 0; round < STRUGGLING.rounds; round++) {
        const batch = Array.from({ length: STRUGGLING.students }, (_, s) => strugglingReport("e2e", s, round, Date.now() + s));
        const res = await postReports(acu.url, batch);
        expect(res.status).toBe(202);
        accepted.push(...batch);
        await Bun.sleep(round % 2 === 0 ? 200 : (SECONDS * 1000) / 2);
      }
    })();
    // Flaky phones: a third of the streams dropped twice during the run; each reopens from its cursor.
    let dropped = 0;
    const drops = (async () => {
      for (let i = 0; i < 2; i++) {
        await Bun.sleep((SECONDS * 1000) / 3);
        dropped += sim.dropStreams(1 / 3);
      }
    })();
    const [sent] = await Promise.all([traffic, struggling, drops]);
    expect(sent.rejected).toBe(0);

    const snap = (await (await fetch(`${acu.url}/api/thresholds`, { headers: viewer })).json()) as { default: number; thresholds: Record<string, number> };
    const thresholdOf = (ex: string) => snap.thresholds[ex] ?? snap.default;
    const expected = new Set(accepted.filter((r) => r.score < thresholdOf(r.exerciseId)).map((r) => alertIdFor(r.studentId, deriveReportId(r))));
    expect(expected.size).toBeGreaterThan(100);

    // Input has stopped: the patrols work through what is left.
    const incidents = await eventually(
      "every order in an incident and every incident resolved",
      async () => {
        const all = await listIncidents(acu.url);
        return all.reduce((n, i) => n + i.orderCount, 0) === expected.size && !all.some(isActive) ? all : null;
      },
      180_000,
      500,
    );
    await sampler.stop();
    const totals = await sim.stop();
    expect(sampler.problems).toEqual([]);
    expect(sampler.samples).toBeGreaterThan(SECONDS);

    // The lake holds every event once the sink has flushed: an incident's revision is its number of events.
    const lake = new LocalLake(join(dir, "lake"));
    const eventCount = incidents.reduce((n, i) => n + i.revision, 0);
    const fromLake = await eventually(
      "every incident event in the lake",
      async () => {
        const l = await readIncidentEvents(lake);
        return byEventId(l.events).size >= eventCount ? l : null;
      },
      60_000,
      1000,
    );
    const audit = auditIncidentHistory(fromLake.events);
    expect(audit.problems).toEqual([]);
    expect(audit.events).toBe(eventCount);
    expect(new Set(audit.orders.keys())).toEqual(expected);
    expect(audit.states.size).toBe(incidents.length);
    expect([...audit.states.values()].every((s) => s === "resolved")).toBe(true);
    // Some students failed again while their incident was open: those orders were attached, no second patrol sent.
    const types = (t: string) => fromLake.events.filter((e) => e.type === t).length;
    expect(types("order-attached")).toBeGreaterThan(0);
    // Ignored assignments timed out and went to another patrol.
    expect(totals.ignored).toBeGreaterThan(0);
    expect(types("timed-out")).toBeGreaterThanOrEqual(totals.ignored);
    // What the crews did is what the history shows.
    expect(totals.resolved).toBe(types("resolved"));
    expect(totals.acknowledged).toBe(types("acknowledged"));
    expect(totals.arrived).toBe(types("on-site"));
    expect(totals.actedForOther).toBe(0);
    // A crew's acknowledgement is recorded as made with its own token, or the operator's for the others.
    const acks = fromLake.events.filter((e) => e.type === "acknowledged");
    const operatorId = acks.find((e) => !tokenIds.has(e.patrolId!))?.actor;
    expect(operatorId).toBeDefined();
    for (const e of acks) expect([e.patrolId, e.actor]).toEqual([e.patrolId, tokenIds.get(e.patrolId!) ?? operatorId!]);
    expect(acks.some((e) => tokenIds.has(e.patrolId!))).toBe(true);
    expect(totals.reconnects).toBeGreaterThanOrEqual(dropped);
    expect(dropped).toBeGreaterThan(0);

    // Response times from the analyzer equal a recomputation from the lake.
    const run = await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator });
    expect(run.status).toBe(200);
    expect(((await run.json()) as { outcome: string }).outcome).toBe("succeeded");
    const rt = await fetch(`${acu.url}/api/analytics/response-times`, { headers: viewer });
    expect(rt.status).toBe(200);
    const rows = responseRows((await rt.json()) as { regions: Array<Record<string, unknown>> });
    const want = expectedResponseRows(fromLake.events);
    expect(rows).toEqual(want);
    expect(want.filter((r) => r.step === "resolve").reduce((n, r) => n + r.count, 0)).toBe(incidents.length);

    // The command line runs the same simulator: two more patrols registered, their streams opened.
    const printed: string[] = [];
    const line = parseCommandLine([
      "patrols",
      "simulate",
      "--count",
      "2",
      "--prefix",
      "cli-",
      "--seed",
      "1",
      "--duration-s",
      "2",
      "--target",
      acu.url,
      "--token",
      TOKENS.operator,
    ]);
    await runPatrolsCommand(parsePatrolsCommand(line, {}), silentLogger, (l) => void printed.push(l));
    const cli = JSON.parse(printed.at(-1)!) as { patrols: number; frames: number };
    expect(cli.patrols).toBe(2);
    expect(cli.frames).toBeGreaterThanOrEqual(2);
    expect((await listPatrols(acu.url)).filter((p) => p.patrolId.startsWith("cli-")).length).toBe(2);

    console.log(
      `dispatch e2e: ${accepted.length} reports, ${expected.size} orders → ${incidents.length} incidents, ${audit.events} events (${audit.republished} republished), ` +
        `${audit.assignments} assignments (${types("timed-out")} timed out, ${totals.ignored} ignored), ${totals.positions} positions, ${totals.reconnects} reconnects (${dropped} dropped), ` +
        `${sampler.samples} listings sampled, ${fromLake.files.length} incidents/ files; response-time rows ${rows.length}`,
    );

    exited = await acu.stop();
    expect(exited).toBe(0);
    // The lake equals the topic: the same events, once each, the same contents.
    const bus = await EmbeddedLogBus.open(join(dir, "bus"), {});
    const onBus: IncidentEvent[] = [];
    try {
      for (let p = 0; p < bus.partitions(TOPICS.incidentEvents); p++)
        for (const r of bus.read(TOPICS.incidentEvents, p, 0, 10_000_000)) onBus.push(decodeIncidentEvent(r.value));
    } finally {
      await bus.close();
    }
    const afterStop = byEventId((await readIncidentEvents(lake)).events);
    const busById = byEventId(onBus);
    expect(afterStop.size).toBe(busById.size);
    for (const [id, e] of busById) expect(afterStop.get(id)).toEqual(e);
  } finally {
    if (exited === null) await acu.stop();
  }
});
