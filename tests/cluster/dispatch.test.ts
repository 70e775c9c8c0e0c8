import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { HttpDispatchClient, startPatrolSimulator, type PatrolSimulator } from "../../modules/patrols/index.ts";
import { runSignal } from "../../modules/signal/index.ts";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { auditIncidentHistory } from "../../src/domain/incident-history.ts";
import { deriveReportId } from "../../src/domain/report.ts";
import { silentLogger } from "../../src/log.ts";
import { cleanup, eventually, operator, startAcu, tempDir, TOKENS, type AcuProcess } from "../support/acu.ts";
import { clusterEnv, isolatedRun } from "../support/cluster.ts";
import { byEventId, isActive, listIncidents, ListingSampler, readIncidentEvents, StuckWatch } from "../support/dispatch.ts";
import { alertIdFor } from "../../src/domain/deployment-order.ts";

setDefaultTimeout(300_000);
const cluster = clusterEnv();

/**
 * Dispatch role by role on Kafka and etcd: separate OS processes — 2 × dispatch, ingest, alert, sink, http —
 * with 20 simulated patrols on the http process's API and streams. 20,000 reports, then 20,000 more while
 * a dispatch process is killed -9 five times (restarted each time). Every listing shows one incident per
 * patrol and per student, no incident is ever stuck (StuckWatch: past its deadline, open beside an
 * available patrol, or without progress in a patrol's hands), and at the end the lake's history has 0
 * double assignments, every order in one incident, every incident resolved.
 */
const REPORTS = Number(process.env.ACU_DISPATCH_CLUSTER_REPORTS ?? 20_000);
const PATROLS = 20;
const KILLS = 5;
const ACK_TIMEOUT_MS = 3000;
const THRESHOLD = 20;

describe.skipIf(!cluster)("dispatch role by role on the local cluster", () => {
  const dir = tempDir("dispatch-roles");
  const procs: AcuProcess[] = [];
  const drops: Array<() => Promise<void>> = [];
  let sim: PatrolSimulator | null = null;
  afterAll(async () => {
    await sim?.stop();
    await Promise.all(procs.map((p) => p.stop()));
    for (const d of drops) await d();
    cleanup(dir);
  });

  test(`2 dispatch processes, ${PATROLS} patrols, ${REPORTS} reports, then ${REPORTS} more with ${KILLS} kill -9 of a dispatch process: 0 double assignments, 0 stuck, all resolved`, async () => {
    const t0 = performance.now();
    const iso = await isolatedRun(cluster!, "dispatch");
    drops.push(iso.drop);
    const env = { ...iso.env, ACU_DISPATCH_ACK_TIMEOUT: String(ACK_TIMEOUT_MS / 1000), ACU_SINK_FLUSH_MS: "1000" };
    const start = async (role: string) => {
      const p = await startAcu({ dataDir: join(dir, "data"), env, args: [`--role=${role}`] });
      procs.push(p);
      return p;
    };
    const http = await start("http");
    const [ingest] = await Promise.all([start("ingest"), start("alert"), start("sink")]);
    const dispatch = [await start("dispatch"), await start("dispatch")];
    expect((await fetch(`${http.url}/api/thresholds`, { method: "PUT", headers: operator, body: JSON.stringify({ default: THRESHOLD }) })).status).toBe(200);

    const client = new HttpDispatchClient({ target: http.url, token: TOKENS.operator });
    sim = await startPatrolSimulator(
      { client, count: PATROLS, seed: 23, speedKmh: 1_000_000, ackAfterMs: 400, resolveAfterMs: 500, positionEveryMs: 250, ignoreRate: 0.1, reportEveryMs: 0 },
      silentLogger,
    );
    const stuck = new StuckWatch({ ackTimeoutMs: ACK_TIMEOUT_MS, slackMs: 5000, progressMs: 30_000 });
    const sampler = new ListingSampler(() => [http.url], { stuck }).start();
    const accepted: Array<{ studentId: string; exerciseId: string; score: number; timestamp: number }> = [];
    const send = (seed: number) =>
      runSignal({ target: ingest!.url, rate: 1500, count: REPORTS, seed, token: TOKENS.ingest, onAccepted: (b) => accepted.push(...b) }, () => {});
    const failing = () => new Set(accepted.filter((r) => r.score < THRESHOLD).map((r) => alertIdFor(r.studentId, deriveReportId(r))));
    const settled = (what: string) =>
      eventually(
        what,
        async () => {
          const all = await listIncidents(http.url);
          return all.reduce((n, i) => n + i.orderCount, 0) === failing().size && !all.some(isActive) ? all : null;
        },
        120_000,
        500,
      );

    // Phase 1: the load alone.
    expect((await send(31)).rejected).toBe(0);
    await settled("phase 1: every order in an incident, every incident resolved");
    const phase1 = { orders: failing().size, stuck: stuck.stuck.size, problems: sampler.problems.length };

    // Phase 2: the same load while a dispatch process is killed -9 and restarted, five times, alternately.
    const load = send(32);
    const kills: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await Bun.sleep(2000);
      const victim = dispatch[k % 2]!;
      victim.proc.kill(9);
      kills.push(await victim.proc.exited);
      procs.splice(procs.indexOf(victim), 1);
      dispatch[k % 2] = await start("dispatch");
    }
    expect((await load).rejected).toBe(0);
    const incidents = await settled("phase 2: every order in an incident, every incident resolved");
    await sampler.stop();
    const totals = await sim.stop();
    sim = null;
    expect(kills).toEqual(Array(KILLS).fill(137));

    expect([...stuck.stuck.values()]).toEqual([]);
    expect(sampler.problems).toEqual([]);
    expect(sampler.samples).toBeGreaterThan(20);

    // The history in the lake: every event once the sink has it all, audited.
    const lake = new LocalLake(join(dir, "data", "lake"));
    const eventCount = incidents.reduce((n, i) => n + i.revision, 0);
    const history = await eventually(
      "every incident event in the lake",
      async () => {
        const l = await readIncidentEvents(lake);
        return byEventId(l.events).size >= eventCount ? l : null;
      },
      90_000,
      1000,
    );
    const audit = auditIncidentHistory(history.events);
    const doubles = audit.problems.filter((p) => /two incidents at once|without a release/.test(p));
    expect(doubles).toEqual([]);
    expect(audit.problems).toEqual([]);
    expect(audit.events).toBe(eventCount);
    expect(new Set(audit.orders.keys())).toEqual(failing());
    expect([...audit.states.values()].every((s) => s === "resolved")).toBe(true);
    expect(audit.states.size).toBe(incidents.length);
    expect(totals.resolved).toBe(incidents.length);
    console.log(
      `dispatch roles: ${accepted.length} reports, ${phase1.orders} + ${failing().size - phase1.orders} orders → ${incidents.length} incidents, ${audit.events} events ` +
        `(${audit.republished} republished), ${audit.assignments} assignments, ${history.events.filter((e) => e.type === "timed-out").length} time-outs, ` +
        `${KILLS} kills; ${sampler.samples} listings sampled (${sampler.errors} failed), 0 stuck, 0 double; ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  });
});
