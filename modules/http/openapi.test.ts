import { expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { reportInputSchema } from "../../src/domain/report.ts";
import { openApiDocument } from "./openapi.ts";
import { securityFor } from "./route-table.ts";
import { routeTable } from "./routes/table.ts";

type Operation = {
  operationId?: string;
  security?: unknown;
  parameters?: Array<{ name: string; in: string; schema?: unknown }>;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
const doc = openApiDocument() as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: Record<string, { anyOf?: Array<{ pattern?: string }> }> }> };
};
const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

test("the generated document is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)", async () => {
  const v = new Validator();
  const r = await v.validate(structuredClone(doc));
  expect(r.errors ?? []).toEqual([]);
  expect(r.valid).toBe(true);
  expect(v.version).toBe("3.1");
});

test("every route of the table is an operation with an operationId, its scope's security, parameters with schemas, response schemas", () => {
  expect(operations.length).toBe(routeTable().defs.length);
  const ids = new Set<string>();
  for (const def of routeTable().defs) {
    const op = doc.paths[def.route.path]?.[def.route.method];
    expect(op).toBeDefined();
    expect(op!.operationId).toBe(def.route.operationId);
    ids.add(op!.operationId!);
    expect({ id: op!.operationId, security: op!.security }).toEqual({ id: op!.operationId, security: securityFor(def.scope) });
    for (const p of op!.parameters ?? [])
      expect({ id: op!.operationId, p: p.name, schema: p.schema !== undefined }).toEqual({ id: op!.operationId, p: p.name, schema: true });
    for (const name of def.route.path.match(/\{[^}]+\}/g) ?? []) expect(op!.parameters?.some((p) => p.in === "path" && `{${p.name}}` === name)).toBe(true);
    if (def.scope) expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(["401", "403", "503"]));
    for (const [status, r] of Object.entries(op!.responses))
      if (status !== "101")
        expect({ id: op!.operationId, status, schema: Object.values(r.content ?? {}).every((c) => c.schema) && r.content !== undefined }).toEqual({
          id: op!.operationId,
          status,
          schema: true,
        });
  }
  expect(ids.size).toBe(operations.length);
  expect(doc.paths["/api/alerts/stream"]!.get!.responses["101"]).toBeDefined();
});

test("the report schema of the document accepts exactly what zod accepts: date-only ISO, fractional ms, and not the rest", () => {
  const timestamp = doc.components.schemas.Report!.properties.timestamp!;
  const pattern = new RegExp(timestamp.anyOf!.find((s) => s.pattern)!.pattern!);
  const good = { studentId: "s", exerciseId: "e", score: 1, latitude: 1, longitude: 1 };
  for (const t of [
    "2026-11-27",
    "2026-11-27T09:00",
    "2026-11-27T09:00:00.123456789+01:00",
    "2024-02-29T00:00Z",
    "2026-02-29",
    "2026-11-27T24:00",
    "1969-12-31",
    "yesterday",
    "2026-11-27 09:00",
  ])
    expect({ t, zod: reportInputSchema.safeParse({ ...good, timestamp: t }).success }).toEqual({ t, zod: pattern.test(t) });
  expect(reportInputSchema.safeParse({ ...good, timestamp: 1.5 }).success).toBe(true);
});
