import { expect, test } from "bun:test";
import { DataType, TimeUnit, type Timestamp } from "apache-arrow";
import { incidentEventSchema, incidentTimesSchema, type IncidentEvent } from "../domain/incident-event.ts";
import { decodeParquet, encodeDeployments, encodeIncidentEvents, encodeReports, lakeIncidentEvent } from "./parquet.ts";

test("reports round-trip through Parquet with their Arrow schema", () => {
  const rows = [
    {
      reportId: "r1",
      studentId: "s1",
      exerciseId: "ex.1",
      score: 12.5,
      latitude: 48.85,
      longitude: 2.35,
      timestamp: 1764230400000,
      region: "Île-de-France",
      partition: 2,
      offset: 7,
    },
    {
      reportId: "r2",
      studentId: "s2",
      exerciseId: "ex-2",
      score: 100,
      latitude: 43.3,
      longitude: 5.37,
      timestamp: 1764230401000,
      region: "unknown",
      partition: 2,
      offset: 8,
    },
  ];
  const bytes = encodeReports(rows);
  expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe("PAR1");
  const t = decodeParquet(bytes);
  expect(t.numRows).toBe(2);
  expect(t.schema.fields.map((f) => f.name)).toEqual([
    "reportId",
    "studentId",
    "exerciseId",
    "score",
    "latitude",
    "longitude",
    "timestamp",
    "region",
    "partition",
    "offset",
  ]);
  const back = t.toArray().map((r) => r.toJSON());
  expect(back[0].reportId).toBe("r1");
  expect(back[1].region).toBe("unknown");
  expect(Number(back[1].timestamp)).toBe(1764230401000);
  expect(Number(back[1].offset)).toBe(8);
  expect(back[0].score).toBe(12.5);
});

test("deployment reports round-trip", () => {
  const bytes = encodeDeployments([
    {
      alertId: "alert-r1",
      reportId: "r1",
      studentId: "s1",
      exerciseId: "ex",
      score: 3,
      threshold: 50,
      latitude: 1,
      longitude: 2,
      region: "Bretagne",
      reportedAt: 1,
      raisedAt: 2,
      partition: 0,
      offset: 0,
    },
  ]);
  const t = decodeParquet(bytes);
  expect(t.numRows).toBe(1);
  expect(t.getChild("alertId")?.get(0)).toBe("alert-r1");
});

const incidentEvent = (over: Partial<IncidentEvent> = {}, times: Partial<IncidentEvent["times"]> = {}): IncidentEvent => ({
  eventId: "inc-alert-r1:7",
  incidentId: "inc-alert-r1",
  seq: 7,
  type: "resolved",
  state: "resolved",
  at: 1764230460000,
  studentId: "s1",
  patrolId: "p-12",
  alertId: "alert-r1",
  exerciseId: "ex.1",
  lowestScore: 12.5,
  orders: 3,
  region: "Bretagne",
  latitude: 48.11,
  longitude: -1.68,
  times: {
    openedAt: 1764230400000,
    assignedAt: 1764230401000,
    acknowledgedAt: 1764230410500,
    enRouteAt: 1764230411000,
    onSiteAt: 1764230440000,
    resolvedAt: 1764230460000,
    cancelledAt: null,
    ...times,
  },
  note: "seen, helped, fine",
  actor: "tok-abc",
  ...over,
});

test("incident events round-trip with every field, the times as nullable timestamp[ms, UTC] columns", () => {
  const events = [
    incidentEvent(),
    incidentEvent(
      { eventId: "inc-alert-r2:1", incidentId: "inc-alert-r2", seq: 1, type: "opened", state: "open", patrolId: null, note: "", actor: "dispatch" },
      { assignedAt: null, acknowledgedAt: null, enRouteAt: null, onSiteAt: null, resolvedAt: null },
    ),
    incidentEvent(
      { eventId: "inc-alert-r3:4", type: "cancelled", state: "cancelled", patrolId: null, note: "a duplicate" },
      { onSiteAt: null, resolvedAt: null, cancelledAt: 1764230500000 },
    ),
  ];
  const rows = events.map((e, i) => lakeIncidentEvent(e, 1, 40 + i));
  const t = decodeParquet(encodeIncidentEvents(rows));
  expect(t.numRows).toBe(3);

  // Every field of the contract is a column (the times flattened), plus the bus position.
  const contract = [...Object.keys(incidentEventSchema.shape).filter((k) => k !== "times"), ...Object.keys(incidentTimesSchema.shape), "partition", "offset"];
  expect(t.schema.fields.map((f) => f.name).sort()).toEqual(contract.sort());
  for (const name of [...Object.keys(incidentTimesSchema.shape), "at"]) {
    const f = t.schema.fields.find((x) => x.name === name)!;
    expect(DataType.isTimestamp(f.type)).toBe(true);
    expect([(f.type as Timestamp).unit, (f.type as Timestamp).timezone]).toEqual([TimeUnit.MILLISECOND, "UTC"]);
    expect(f.nullable).toBe(name !== "openedAt" && name !== "at");
  }
  expect(t.schema.fields.find((f) => f.name === "patrolId")!.nullable).toBe(true);

  const back = t.toArray().map((r) => r.toJSON());
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const b = back[i]!;
    for (const k of [
      "eventId",
      "incidentId",
      "seq",
      "type",
      "state",
      "studentId",
      "patrolId",
      "alertId",
      "exerciseId",
      "lowestScore",
      "orders",
      "region",
      "latitude",
      "longitude",
      "note",
      "actor",
    ] as const)
      expect(b[k]).toEqual(e[k]);
    expect(Number(b.at)).toBe(e.at);
    for (const [k, v] of Object.entries(e.times)) expect(b[k] === null ? null : Number(b[k])).toBe(v);
    expect([b.partition, Number(b.offset)]).toEqual([1, 40 + i]);
  }
});
