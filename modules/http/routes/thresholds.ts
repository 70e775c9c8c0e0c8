import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { thresholdValueSchema } from "../../../src/domain/threshold.ts";
import type { Logger } from "../../../src/log.ts";
import type { ThresholdSnapshot } from "../../../src/domain/threshold.ts";
import type { ThresholdStore } from "../../../src/ports/thresholds.ts";
import type { AuthEnv } from "../auth.ts";
import { defineRoute, routeGroup } from "../route-table.ts";
import { exerciseIdSchema, json, readJson } from "../schemas.ts";

/** The thresholds as the API shows them, after every change too. */
export const thresholdsSchema = z
  .object({
    default: z.number().int().min(0).max(100).meta({ description: "Applies to every exercise without its own" }),
    thresholds: z.record(z.string(), z.number().int().min(0).max(100)).meta({ description: "exerciseId → whole percent" }),
    revision: z.number().int().min(0).meta({ description: "Grows with every change of the store" }),
  })
  .meta({ id: "Thresholds" });

const state = { 200: { description: "The thresholds now", ...json(thresholdsSchema) } } as const;
const params = z.object({ exerciseId: exerciseIdSchema() });
const defaultBody = z.object({ default: thresholdValueSchema }, { error: 'the body must be a JSON object like {"default": 50}' });
const thresholdBody = z.object({ threshold: thresholdValueSchema }, { error: 'the body must be a JSON object like {"threshold": 70}' });

export const thresholdRoutes = {
  list: defineRoute("viewer", {
    operationId: "getThresholds",
    method: "get",
    path: "/api/thresholds",
    summary: "Thresholds, the default and the store revision",
    tags: ["thresholds"],
    responses: state,
  }),
  setDefault: defineRoute(
    "operator",
    {
      operationId: "setDefaultThreshold",
      method: "put",
      path: "/api/thresholds",
      summary: "Set the default threshold",
      tags: ["thresholds"],
      responses: state,
    },
    { body: defaultBody },
  ),
  set: defineRoute(
    "operator",
    {
      operationId: "setThreshold",
      method: "put",
      path: "/api/thresholds/{exerciseId}",
      summary: "Set an exercise's threshold (whole percent)",
      tags: ["thresholds"],
      request: { params },
      responses: state,
    },
    { body: thresholdBody },
  ),
  remove: defineRoute("operator", {
    operationId: "removeThreshold",
    method: "delete",
    path: "/api/thresholds/{exerciseId}",
    summary: "Remove an exercise's threshold (the default applies again)",
    tags: ["thresholds"],
    request: { params },
    responses: state,
  }),
};

/**
 * GET/PUT/DELETE /api/thresholds…: reads for viewers, changes for operators. Every change leaves an audit
 * line naming the token id that made it (never the token), and answers with the store as of that change:
 * one engine request, so a change refused for want of an etcd quorum answers within one request deadline.
 */
export function thresholdsRoutes(deps: { thresholds: ThresholdStore; log: Logger }) {
  const { thresholds } = deps;
  const audit = deps.log.child({ audit: "threshold" });
  const app = routeGroup();
  const shown = (s: ThresholdSnapshot) => ({ default: s.defaultThreshold, thresholds: { ...s.thresholds }, revision: s.revision });
  const view = async () => shown(await thresholds.current());
  const by = (c: Context<AuthEnv>) => c.get("principal")?.id ?? "unknown";

  app.openapi(thresholdRoutes.list.route, async (c) => c.json(await view(), 200));
  app.openapi(thresholdRoutes.setDefault.route, async (c) => {
    const b = await readJson(c, defaultBody);
    if (!b.ok) return b.res;
    const value = b.value.default;
    const after = await thresholds.setDefault(value);
    audit.info(`audit: default threshold set to ${value} by ${by(c)}`, { action: "default", threshold: value, tokenId: by(c) });
    return c.json(shown(after), 200);
  });
  app.openapi(thresholdRoutes.set.route, async (c) => {
    const { exerciseId } = c.req.valid("param");
    const b = await readJson(c, thresholdBody);
    if (!b.ok) return b.res;
    const { threshold } = b.value;
    const after = await thresholds.set(exerciseId, threshold);
    audit.info(`audit: threshold of ${exerciseId} set to ${threshold} by ${by(c)}`, { action: "set", exerciseId, threshold, tokenId: by(c) });
    return c.json(shown(after), 200);
  });
  app.openapi(thresholdRoutes.remove.route, async (c) => {
    const { exerciseId } = c.req.valid("param");
    const after = await thresholds.remove(exerciseId);
    audit.info(`audit: threshold of ${exerciseId} removed by ${by(c)}`, { action: "remove", exerciseId, tokenId: by(c) });
    return c.json(shown(after), 200);
  });
  return app;
}
