import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { silentLogger } from "../../src/log.ts";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLogBus } from "../../src/adapters/embedded/log-bus.ts";
import { FileThresholdStore } from "../../src/adapters/embedded/file-thresholds.ts";
import { encodeReport } from "../../src/domain/report.ts";
import { TOPICS } from "../../src/ports/bus.ts";
import { ALERT_GROUP, startAlert } from "./alert.ts";

setDefaultTimeout(60_000);
const dir = mkdtempSync(join(tmpdir(), "acu-alert-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("malformed bus messages go to the DLQ with their reason; valid reports around them are judged", async () => {
  const bus = await EmbeddedLogBus.open(join(dir, "bus"), { [TOPICS.reports]: 3, [TOPICS.alerts]: 3, [TOPICS.deadLetters]: 1 });
  const thresholds = FileThresholdStore.open(join(dir, "thresholds.json"), 50);
  const valid = fc.record({
    reportId: fc.constant("placeholder"),
    studentId: fc.string({ minLength: 1, maxLength: 64 }),
    exerciseId: fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/),
    score: fc.double({ min: 0, max: 100, noNaN: true }),
    latitude: fc.double({ min: -90, max: 90, noNaN: true }),
    longitude: fc.double({ min: -180, max: 180, noNaN: true }),
    timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    region: fc.constantFrom("Bretagne", "unknown"),
  });
  const message = fc.oneof(
    valid.map((r) => ({ ok: true, score: r.score, value: encodeReport(r) as string | Uint8Array })),
    fc.uint8Array({ maxLength: 300 }).map((b) => ({ ok: false, score: 0, value: b as string | Uint8Array })),
    fc.jsonValue().map((v) => ({ ok: false, score: 0, value: JSON.stringify(v) as string | Uint8Array })),
    valid.map((r) => ({ ok: false, score: 0, value: JSON.stringify({ ...r, score: "low" }) as string | Uint8Array })),
  );
  // Unique report ids: fast-check repeats values on purpose, and a repeated id is (rightly) one alert only.
  const msgs = fc
    .sample(message, 5000)
    .map((m, i) => (m.ok ? { ...m, value: (m.value as string).replace('"reportId":"placeholder"', `"reportId":"r-${i}"`) } : m));
  await bus.publish(
    TOPICS.reports,
    msgs.map((m, i) => ({ key: `k${i % 97}`, value: m.value })),
  );
  const alert = await startAlert({ bus, thresholds, log: silentLogger });
  const deadline = Date.now() + 30_000;
  while (
    (bus.committedOffset(ALERT_GROUP, TOPICS.reports, 0) ?? 0) +
      (bus.committedOffset(ALERT_GROUP, TOPICS.reports, 1) ?? 0) +
      (bus.committedOffset(ALERT_GROUP, TOPICS.reports, 2) ?? 0) <
    5000
  ) {
    if (Date.now() > deadline) throw new Error("the alert role did not get through the batch");
    await Bun.sleep(50);
  }
  await alert.stop();
  const dlq = (await bus.endOffsets(TOPICS.deadLetters)).reduce((a, b) => a + b, 0);
  const alerts = (await bus.endOffsets(TOPICS.alerts)).reduce((a, b) => a + b, 0);
  if (dlq !== msgs.filter((m) => !m.ok).length) {
    const letters = bus
      .read(TOPICS.deadLetters, 0, 0, 100000)
      .map((l) => JSON.parse(new TextDecoder().decode(l.value)) as { partition: number; offset: number });
    const seen = new Set(letters.map((l) => `${l.partition}:${l.offset}`));
    for (let p = 0; p < 3; p++)
      for (const r of bus.read(TOPICS.reports, p, 0, 100000)) {
        const m = msgs.find(
          (x) =>
            (typeof x.value === "string" ? x.value : Buffer.from(x.value).toString("latin1")) ===
            (typeof x.value === "string" ? new TextDecoder().decode(r.value) : Buffer.from(r.value).toString("latin1")),
        );
        if (m && !m.ok && !seen.has(`${p}:${r.offset}`)) console.log("passed:", typeof m.value === "string" ? m.value : Buffer.from(m.value).toString("hex"));
      }
  }
  expect(dlq).toBe(msgs.filter((m) => !m.ok).length);
  expect(alerts).toBe(msgs.filter((m) => m.ok && m.score < 50).length);
  const [letter] = bus.read(TOPICS.deadLetters, 0, 0, 1);
  const parsed = JSON.parse(new TextDecoder().decode(letter!.value)) as { reason: string; topic: string; offset: number };
  expect(parsed.topic).toBe(TOPICS.reports);
  expect(parsed.reason.length).toBeGreaterThan(0);
  await bus.close();
});

test("each published order is observed in acu_report_to_order_seconds (report timestamp → published), and the lag is reported", async () => {
  const { metrics } = await import("../../src/metrics.ts");
  const bus = await EmbeddedLogBus.open(join(dir, "latency-bus"), { [TOPICS.reports]: 2, [TOPICS.alerts]: 2, [TOPICS.deadLetters]: 1 });
  const thresholds = FileThresholdStore.open(join(dir, "latency-thresholds.json"), 50);
  const histogram = async () => (await metrics.reportToOrder.get()).values;
  const count = async () => (await histogram()).find((v) => v.metricName === "acu_report_to_order_seconds_count")?.value ?? 0;
  const sum = async () => (await histogram()).find((v) => v.metricName === "acu_report_to_order_seconds_sum")?.value ?? 0;
  const [count0, sum0] = [await count(), await sum()];
  // Three failing reports made 1.5 s ago, one passing: three orders.
  const at = Date.now() - 1500;
  const report = (i: number, score: number) => ({
    reportId: `lat-${i}`,
    studentId: `s${i}`,
    exerciseId: "ex.latency",
    score,
    latitude: 48.1,
    longitude: -1.7,
    timestamp: at,
    region: "Bretagne",
  });
  await bus.publish(
    TOPICS.reports,
    [report(1, 10), report(2, 20), report(3, 90), report(4, 30)].map((r) => ({ key: r.studentId, value: encodeReport(r) })),
  );
  metrics.consumerLag.remove({ group: ALERT_GROUP });
  const alert = await startAlert({ bus, thresholds, log: silentLogger });
  const deadline = Date.now() + 20_000;
  while ((await count()) < count0 + 3) {
    if (Date.now() > deadline) throw new Error("no order observed");
    await Bun.sleep(20);
  }
  const lag = (await metrics.consumerLag.get()).values.find((v) => v.labels.group === ALERT_GROUP);
  await alert.stop();
  await bus.close();
  expect((await count()) - count0).toBe(3);
  const mean = ((await sum()) - sum0) / 3;
  expect(mean).toBeGreaterThanOrEqual(1.5);
  expect(mean).toBeLessThan(60);
  // Measured by the alert role itself (removed above).
  expect(typeof lag?.value).toBe("number");
});

test("two students whose laptops chose the same report id are both alerted; a resend of either is not, even after a restart", async () => {
  const bus = await EmbeddedLogBus.open(join(dir, "same-id-bus"), { [TOPICS.reports]: 3, [TOPICS.alerts]: 3, [TOPICS.deadLetters]: 1 });
  const thresholds = FileThresholdStore.open(join(dir, "same-id-thresholds.json"), 50);
  const failing = (studentId: string, reportId: string) => ({
    reportId,
    studentId,
    exerciseId: "ex",
    score: 10,
    latitude: 48.1,
    longitude: -1.7,
    timestamp: 1_764_230_400_000,
    region: "Bretagne",
  });
  const send = (reports: ReturnType<typeof failing>[]) =>
    bus.publish(
      TOPICS.reports,
      reports.map((r) => ({ key: r.studentId, value: encodeReport(r) })),
    );
  const consumed = async () => {
    const ends = await bus.endOffsets(TOPICS.reports);
    const deadline = Date.now() + 20_000;
    while (ends.some((e, p) => (bus.committedOffset(ALERT_GROUP, TOPICS.reports, p) ?? 0) < e)) {
      if (Date.now() > deadline) throw new Error("the alert role did not get through the reports");
      await Bun.sleep(20);
    }
  };
  const orders = () =>
    [0, 1, 2]
      .flatMap((p) => bus.read(TOPICS.alerts, p, 0, 1000))
      .map((r) => JSON.parse(new TextDecoder().decode(r.value)) as { alertId: string; studentId: string; reportId: string })
      .map((o) => `${o.studentId}/${o.reportId}`)
      .sort();
  await send([failing("s-a", "r-7"), failing("s-b", "r-7"), failing("s-a", "r-7")]);
  let alert = await startAlert({ bus, thresholds, log: silentLogger });
  await consumed();
  await alert.stop();
  expect(orders()).toEqual(["s-a/r-7", "s-b/r-7"]);
  // A restarted alert role remembers both from the alerts topic: the laptops' resends send no second order.
  await send([failing("s-b", "r-7"), failing("s-a", "r-7"), failing("s-c", "r-7")]);
  alert = await startAlert({ bus, thresholds, log: silentLogger });
  await consumed();
  await alert.stop();
  expect(orders()).toEqual(["s-a/r-7", "s-b/r-7", "s-c/r-7"]);
  await bus.close();
});
