import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type Admin, type AclEntry } from "kafkajs";
import { runSignal } from "../../modules/signal/index.ts";
import { EXERCISES } from "../../modules/signal/exercises.ts";
import { LocalLake } from "../../src/adapters/embedded/local-lake.ts";
import { alertIdFor } from "../../src/domain/deployment-order.ts";
import { deriveReportId } from "../../src/domain/report.ts";
import { SINK_GROUP } from "../../modules/sink/sink.ts";
import { kafkaAcls, SECURED_ROLES, type SecuredRole } from "../../src/grants.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import { cleanup, eventually, freePort, operator, startAcu, tempDir, TOKENS, viewer, type AcuProcess } from "../support/acu.ts";
import { clusterEnv } from "../support/cluster.ts";
import { listIncidents } from "../support/dispatch.ts";
import { readLakeFrom } from "../support/lake.ts";
import { etcdAs, kafkaAs, secureCluster, secureRun, type SecureCluster } from "../support/secure-cluster.ts";

setDefaultTimeout(300_000);
const secure = secureCluster();
const plain = clusterEnv();

/**
 * Role by role on the secured cluster (`scripts/cluster up --secure`: etcd with auth, Kafka with
 * SASL/SCRAM and ACLs), each role a process of its own with its own user, granted what src/grants.ts
 * says and nothing else: http, ingest, alert, sink, dispatch and the analyzer (which uses neither
 * engine; the warehouse is the plain cluster's PostgreSQL). The alerts, the lake and the analytics are
 * exact; then each role's user is tried on what its role does not need, and refused.
 */
describe.skipIf(!secure || !plain)("secured cluster role by role", () => {
  const dir = tempDir("secure-roles");
  const procs: AcuProcess[] = [];
  const drops: Array<() => Promise<void>> = [];
  let run: Awaited<ReturnType<typeof secureRun>>;
  const sc = secure as SecureCluster;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    for (const d of drops) await d();
    cleanup(dir);
  });
  const start = async (role: SecuredRole | "analyzer", env: Record<string, string>) => {
    const p = await startAcu({
      dataDir: join(dir, "data"),
      env: { ...env, ACU_SINK_FLUSH_MS: "1000", ACU_ANALYZER_SCHEDULE: "*/3 * * * * *" },
      args: [`--role=${role}`],
    });
    procs.push(p);
    return p;
  };

  test("http, ingest, alert, sink, dispatch, analyzer each with its own user: exact alerts, lake, incidents and analytics", async () => {
    run = await secureRun(sc, plain!.database, "secure");
    drops.push(run.drop);
    const COUNT = 4000;
    const http = await start("http", run.envOf("http"));
    // Strict catalogue (production's default): ingest reads the thresholds with its own user.
    const ingest = await start("ingest", { ...run.envOf("ingest"), ACU_EXERCISES: "strict" });
    await Promise.all([start("alert", run.envOf("alert")), start("sink", run.envOf("sink")), start("dispatch", run.envOf("dispatch"))]);
    // The analyzer reads the lake and writes the warehouse: no etcd or Kafka user at all.
    const { ACU_DATABASE_URL } = run.env;
    await start("analyzer", { ACU_DATABASE_URL: ACU_DATABASE_URL! });

    // The exam's exercises entered before it starts (the signal's), so the strict ingest takes every report.
    for (const ex of EXERCISES)
      expect((await fetch(`${http.url}/api/thresholds/${ex.id}`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 50 }) })).status).toBe(
        200,
      );
    expect((await fetch(`${http.url}/api/thresholds/bsq`, { method: "PUT", headers: operator, body: JSON.stringify({ threshold: 40 }) })).status).toBe(200);
    const snap = (await (await fetch(`${http.url}/api/thresholds`, { headers: viewer })).json()) as { default: number; thresholds: Record<string, number> };
    const thresholdOf = (ex: string) => snap.thresholds[ex] ?? snap.default;

    const streamed = new Set<string>();
    const ws = new WebSocket(`${http.url.replace("http", "ws")}/api/alerts/stream`, [`acu.bearer.${TOKENS.viewer}`]);
    await new Promise<void>((resolve) => {
      ws.onmessage = (ev) => {
        const m = JSON.parse(String(ev.data));
        if (m.type === "hello") resolve();
        if (m.type === "alert") streamed.add(m.alert.alertId);
      };
    });
    const accepted: Array<{ studentId: string; exerciseId: string; score: number; latitude: number; longitude: number; timestamp: number }> = [];
    const r = await runSignal(
      { target: ingest.url, rate: 2000, count: COUNT, seed: 31, token: TOKENS.ingest, onAccepted: (b) => accepted.push(...b) },
      () => {},
    );
    expect(r.rejected).toBe(0);
    const reports = accepted.map((x) => ({ ...x, reportId: deriveReportId(x) }));
    const expected = new Set(reports.filter((x) => x.score < thresholdOf(x.exerciseId)).map((x) => alertIdFor(x.studentId, x.reportId)));
    expect(expected.size).toBeGreaterThan(0);

    await eventually("every alert on the stream", async () => streamed.size >= expected.size, 120_000, 500);
    ws.close();
    expect(streamed).toEqual(expected);

    const lake = new LocalLake(join(dir, "data", "lake"));
    const rows = await eventually("every report in the lake", async () => {
      const l = await readLakeFrom(lake, "reports");
      return l.rows.length >= COUNT ? l.rows : null;
    });
    expect(new Set(rows.map((x) => x.reportId as string))).toEqual(new Set(reports.map((x) => x.reportId)));
    // dispatch read the alerts and opened incidents (etcd), their events went through incident-events to the sink.
    const incidents = await eventually("incidents opened by the dispatch process", async () => {
      const l = await listIncidents(http.url);
      return l.length > 0 ? l : null;
    });
    const events = await eventually("incident events in the lake", async () => {
      const l = await readLakeFrom(lake, "incidents");
      return l.rows.length > 0 ? l.rows : null;
    });
    expect(incidents.length).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);

    const counted = await eventually("the analyzer to count every report", async () => {
      const body = (await (await fetch(`${http.url}/api/analytics/exercises`, { headers: viewer })).json()) as { exercises: Array<{ reports: number }> };
      const n = body.exercises.reduce((a, e) => a + e.reports, 0);
      return n === COUNT ? n : null;
    });
    expect(counted).toBe(COUNT);
    for (const p of procs.splice(0)) await p.stop();
    console.log(
      `secure: ${COUNT} reports, ${expected.size} alerts, ${incidents.length} incidents, ${events.length} incident events through 6 role processes, each its own user`,
    );
  });

  test("each role's user is refused what its role does not need (etcd keys, topics, groups)", async () => {
    const env = run.env;
    const ns = env.ACU_KAFKA_NAMESPACE!;
    const etcdOf = (r: SecuredRole) => etcdAs(sc, { username: r, password: sc.etcd.users[r] });
    const denied = async (what: string, p: Promise<unknown>, why = /permission denied|not authorized|authorization failed/i) => {
      const e = await p.then(
        () => null,
        (x: Error) => x,
      );
      expect(e, `${what} was allowed`).not.toBeNull();
      expect(e!.message, what).toMatch(why);
    };

    // etcd: ingest writes no threshold and reads none; alert reads thresholds but writes none; sink has no key at all.
    const ingest = etcdOf("ingest");
    await denied("ingest writing a threshold", ingest.put(`${env.ACU_ETCD_PREFIX}default`).value("0").exec());
    await denied("ingest writing a token", ingest.put(`${env.ACU_ETCD_TOKEN_PREFIX}forged`).value("{}").exec());
    // What it needs, it may: read the thresholds (the exercise catalogue) and the tokens (to check bearer tokens).
    expect(Array.isArray(await ingest.getAll().prefix(env.ACU_ETCD_PREFIX!).keys())).toBe(true);
    expect(Array.isArray(await ingest.getAll().prefix(env.ACU_ETCD_TOKEN_PREFIX!).keys())).toBe(true);
    const alert = etcdOf("alert");
    expect(await alert.get(`${env.ACU_ETCD_PREFIX}exercises/bsq`).string()).toBe("40");
    await denied("alert writing a threshold", alert.put(`${env.ACU_ETCD_PREFIX}exercises/bsq`).value("100").exec());
    await denied("alert reading the dispatch store", alert.getAll().prefix(env.ACU_ETCD_DISPATCH_PREFIX!).keys());
    const http = etcdOf("http");
    await denied(
      "http writing a token (tokens are made with acu token, as an administrator)",
      http.put(`${env.ACU_ETCD_TOKEN_PREFIX}forged`).value("{}").exec(),
    );
    const sink = etcdOf("sink");
    await denied("sink reading the tokens", sink.getAll().prefix(env.ACU_ETCD_TOKEN_PREFIX!).keys());
    for (const c of [ingest, alert, http, sink]) c.close();
    await denied("no user at all", etcdAs(sc, null).get(`${env.ACU_ETCD_PREFIX}default`).string(), /user name is empty/);

    // Kafka: ingest writes student-reports but no alert, and reads nothing; the sink writes nothing.
    const producer = async (r: SecuredRole, topic: string) => {
      const p = kafkaAs(sc, r, sc.kafka.users[r]).producer({ allowAutoTopicCreation: false });
      await p.connect();
      try {
        await p.send({ topic: ns + topic, messages: [{ key: "k", value: "forged" }] });
      } finally {
        await p.disconnect();
      }
    };
    await producer("ingest", TOPICS.reports); // allowed: what ingest does
    await denied("ingest writing alerts", producer("ingest", TOPICS.alerts));
    await denied("sink writing student-reports", producer("sink", TOPICS.reports));
    await denied("dispatch writing alerts", producer("dispatch", TOPICS.alerts));
    // Reads `topic` in `group` as user `r` (or the administrator): resolves with the first record.
    const read = async (r: SecuredRole | "admin", group: string, topic: string) => {
      const pw = r === "admin" ? sc.kafka.admin.password : sc.kafka.users[r];
      const c = kafkaAs(sc, r, pw).consumer({ groupId: ns + group, retry: { retries: 0 } });
      try {
        await c.connect();
        await c.subscribe({ topics: [ns + topic], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          c.on(c.events.CRASH, (e) => reject(e.payload.error));
          void c.run({ eachMessage: async () => resolve() }).catch(reject);
        });
      } finally {
        await c.disconnect().catch(() => {});
      }
    };
    // kafkajs reports a group the user may not use as "Failed to find group coordinator" (it drops the
    // broker's GROUP_AUTHORIZATION_FAILED): the administrator joining the same group is the control.
    const noGroup = /not authorized|authorization failed|failed to find group coordinator/i;
    await read("admin", "acu-alert-probe", TOPICS.reports);
    await denied("ingest reading student-reports in an alert group", read("ingest", "acu-alert-probe", TOPICS.reports), noGroup);
    await denied("the sink joining an alert group", read("sink", "acu-alert-probe", TOPICS.alerts), noGroup);
    // In its own group (the dispatch process has stopped), on a topic it may not read: the fetch is refused.
    await denied("dispatch reading student-reports", read("dispatch", "acu-dispatch", TOPICS.reports));
    const wrongPassword = await kafkaAs(sc, "ingest", "wrong")
      .admin()
      .connect()
      .then(
        () => null,
        (x: Error) => x,
      );
    expect(wrongPassword?.message).toMatch(/authentication failed/i);
  });

  test("a role started with another role's user is refused at start, naming what it may not do", async () => {
    // The sink's user has no etcd grant at all: the alert role cannot read its thresholds.
    const wrong = { ...run.envOf("sink") };
    const err = await start("alert", wrong).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).not.toBeNull();
    console.log(`alert with the sink user: ${err!.split("\n").find((l) => /authoriz|permission/i.test(l))}`);
    expect(err!).toMatch(/permission denied|not authorized|authorization failed/i);
    for (const r of SECURED_ROLES) expect(sc.kafka.users[r]).toMatch(/^[0-9a-f]{32}$/);
  });

  /** The sink user's Read ACL on its consumer group (src/grants.ts), every other grant of it kept. */
  const sinkGroupAcl = (): AclEntry[] => {
    const acl = kafkaAcls("sink", run.env.ACU_KAFKA_NAMESPACE!)
      .filter((a) => a.resource === "group")
      .map((a) => ({
        principal: "User:sink",
        host: "*",
        operation: AclOperationTypes.READ,
        permissionType: AclPermissionTypes.ALLOW,
        resourceType: AclResourceTypes.GROUP,
        resourceName: a.name,
        resourcePatternType: a.pattern === "prefixed" ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      }));
    expect(acl.map((a) => a.resourceName)).toEqual([run.env.ACU_KAFKA_NAMESPACE! + SINK_GROUP]);
    return acl;
  };
  const asAdmin = async (f: (admin: Admin) => Promise<unknown>) => {
    const admin = kafkaAs(sc, sc.kafka.admin.username, sc.kafka.admin.password).admin();
    await admin.connect();
    try {
      await f(admin);
    } finally {
      await admin.disconnect();
    }
  };

  test("a role whose user may read its topics but not use its consumer group is refused at start, naming the group and the grant", async () => {
    // kafkajs alone reports the broker's GROUP_AUTHORIZATION_FAILED as "Failed to find group coordinator"
    // and tries again for ever: the process would neither run nor fail.
    const acl = sinkGroupAcl();
    const group = acl[0]!.resourceName;
    await asAdmin((a) => a.deleteAcls({ filters: acl }));
    try {
      const began = Date.now();
      const err = await start("sink", run.envOf("sink")).then(
        () => null,
        (e: Error) => e.message,
      );
      const tookMs = Date.now() - began;
      expect(err, "the sink started without a grant on its group").not.toBeNull();
      const line = err!.split("\n").find((l) => /GROUP_AUTHORIZATION_FAILED/.test(l));
      console.log(`sink without the grant on its group, refused in ${tookMs} ms: ${line}`);
      expect(line).toMatch(/group/);
      expect(line).toMatch(/authoriz/i);
      expect(line).toContain(`acu: error: Kafka refused consumer group ${group} to user sink`);
      expect(line).toContain(`grant User:sink READ on group ${group} (see docs/operations.md#engine-users-and-their-grants)`);
      expect(tookMs).toBeLessThan(30_000);
    } finally {
      await asAdmin((a) => a.createAcls({ acl }));
    }
  });

  test("the grant on its group taken away while the role runs: /readyz names the refusal; given back, the consumer joins and it is ready again", async () => {
    const acl = sinkGroupAcl();
    const group = acl[0]!.resourceName;
    const opsPort = freePort();
    const sink = await start("sink", { ...run.envOf("sink"), ACU_OPS_PORT: String(opsPort) });
    const readyz = async () => {
      const r = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
      return { status: r.status, body: await r.text() };
    };
    await eventually("the sink ready", async () => (await readyz()).status === 200, 30_000, 200);
    await asAdmin((a) => a.deleteAcls({ filters: acl }));
    let restored = false;
    try {
      // Its heartbeats are refused, then every join: the member keeps trying, and says why.
      const body = await eventually(
        "/readyz to name the refused group",
        async () => {
          const r = await readyz();
          return r.status === 503 && r.body.includes("GROUP_AUTHORIZATION_FAILED") ? r.body : null;
        },
        60_000,
        500,
      );
      console.log(`sink whose group grant was taken away, /readyz: ${body}`);
      expect(body).toContain(`Kafka refused consumer group ${group} to user sink`);
      expect(sink.stdout()).toContain(`Kafka refused consumer group ${group} to user sink`);
      await asAdmin((a) => a.createAcls({ acl }));
      restored = true;
      // The member's next try (kafkajs's restart, or the replacement after its silence) joins.
      await eventually("the sink ready again", async () => (await readyz()).status === 200, 120_000, 500);
    } finally {
      if (!restored) await asAdmin((a) => a.createAcls({ acl }));
      await sink.stop();
    }
  });
});
