import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { EXERCISE_ID_PATTERN } from "../../src/domain/threshold.ts";
import { SCOPES } from "../../src/domain/token.ts";
import { JsonInputError, parseJson } from "../../src/json.ts";

/**
 * The pieces of the HTTP contract shared by several route groups: error bodies, the exercise id and limit
 * parameters, and the one way a failed validation becomes a 400 naming the field.
 */

export const errorSchema = z.object({ error: z.string().meta({ description: "What is wrong, in a sentence" }) }).meta({ id: "Error" });

export const authErrorSchema = z
  .object({ error: z.string(), scope: z.enum(SCOPES).meta({ description: "The scope this call needs" }) })
  .meta({ id: "AuthError", description: "No token, an unknown or revoked one, or one of another scope" });

const EXERCISE_ID_RULE = "1–64 of letters, digits, '_', '.', '-'";
export const EXERCISE_ID_MESSAGE = `exerciseId must be ${EXERCISE_ID_RULE}`;

/** An exercise id in a path or a required query parameter. */
export const exerciseIdSchema = (message = EXERCISE_ID_MESSAGE) =>
  z
    .string({ error: message })
    .regex(EXERCISE_ID_PATTERN, message)
    .meta({ description: `Exercise id: ${EXERCISE_ID_RULE}`, example: "c00.ex00" });

/** An optional exercise filter: absent or empty means every exercise. */
export const exerciseFilterSchema = z
  .string({ error: EXERCISE_ID_MESSAGE })
  .regex(/^(?:[A-Za-z0-9_.-]{1,64})?$/, EXERCISE_ID_MESSAGE)
  .optional()
  .meta({ description: `Only this exercise (${EXERCISE_ID_RULE}); absent or empty: every exercise` });

/** `limit` in a query string: a whole number 1..max, digits only; `def` when absent. */
export function limitSchema(def: number, max: number) {
  const message = `limit must be a whole number from 1 to ${max}`;
  return z
    .preprocess(
      (v) => (typeof v === "string" && /^[0-9]{1,16}$/.test(v) ? Number(v) : v),
      z.number({ error: message }).int(message).min(1, message).max(max, message),
    )
    .optional()
    .meta({ description: `How many, at most (default ${def})`, default: def });
}

/**
 * `cursor` in a query string: where a page starts (exclusive), as the previous page's `nextCursor` gave it;
 * absent or empty: the first page. `what` says what the cursor names.
 */
export function cursorSchema(what: string) {
  const message = `cursor must be a nextCursor this listing gave (1–128 of letters, digits, '_', '.', ':', '-')`;
  return z
    .string({ error: message })
    .regex(/^(?:[A-Za-z0-9_.:-]{1,128})?$/, message)
    .optional()
    .meta({ description: `The previous page's nextCursor (${what}); absent or empty: the first page` });
}

/** The `nextCursor` of a paginated answer. */
export const nextCursorSchema = z
  .string()
  .nullable()
  .meta({ description: "Pass as `cursor` (same other parameters) for the next page; null on the last page" });

/** JSON content of a response or request body, for route definitions. */
export const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } } });

/** An answer in JSON, or as CSV when asked (`?format=csv` or `Accept: text/csv`): one row per item, a header row. */
export const jsonOrCsv = <T extends z.ZodType>(schema: T, rows: string) => ({
  content: {
    "application/json": { schema },
    "text/csv": { schema: z.string().meta({ description: `RFC 4180, a header row of column names, then ${rows}; a null is an empty field` }) },
  },
});

/** `format` in a query string: csv answers as `Accept: text/csv` does; json whatever Accept says. */
export const formatSchema = z
  .enum(["json", "csv"], { error: "format must be json or csv" })
  .optional()
  .meta({ description: "csv: the answer as CSV (as `Accept: text/csv` asks); json: JSON whatever Accept says; absent: by Accept, JSON by default" });

/** The error body of a failed validation: the first issue, prefixed with its field unless it already names it. */
export function validationError(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): { error: string } {
  const first = issues[0];
  if (!first) return { error: "invalid request" };
  const path = first.path.map(String).join(".");
  return { error: !path || first.message.startsWith(path) ? first.message : `${path}: ${first.message}` };
}

/** OpenAPIHono's defaultHook: parameters that fail their schema get acu's 400 `{error}` naming the field. */
export function validationHook(result: { success: boolean; error?: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } }, c: Context) {
  if (!result.success) return c.json(validationError(result.error?.issues ?? []), 400);
}

/** acu's 400, typed as the `{error}` answer the route definitions declare. */
const badRequest = (c: Context, error: string) => c.json({ error }, 400);

export type BodyResult<T> = { ok: true; value: T } | { ok: false; res: ReturnType<typeof badRequest> };

/**
 * A JSON request body checked against its schema. Read as JSON whatever its Content-Type (curl -d sends
 * form-urlencoded), as acu always has, so the route's own validator is not used for bodies. With
 * `optional`, no body at all (or only white space) reads as `{}`.
 */
export async function readJson<T extends z.ZodType>(c: Context, schema: T, o: { optional?: boolean } = {}): Promise<BodyResult<z.output<T>>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = o.optional && text.trim() === "" ? {} : parseJson(text, "request body");
  } catch (e) {
    return { ok: false, res: badRequest(c, e instanceof JsonInputError ? e.message : "request body is not valid JSON") };
  }
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, res: badRequest(c, validationError(r.error.issues).error) };
}
