import { z } from "zod";
import type { BusIdentity } from "../ports/bus.ts";

/**
 * Which bus the lake's files came from. Lake files are named after bus offsets, and the sink resumes after
 * the highest offset in the lake: that is sound only while the bus is the one the lake was written from.
 * The binding lives in the lake itself (one small JSON file beside the datasets, outside their folders),
 * so every sink instance, on any machine, checks against the same record.
 *
 * Epochs: adopting another bus (`acu lake adopt-bus`) starts a new epoch whose offsets are placed after
 * everything the lake holds: lake offset = bus offset + base[topic/partition]. Epoch 0 has no base, so a
 * lake that never changed bus has lake offsets equal to bus offsets.
 */
export const LAKE_BINDING_PATH = "_acu/bus-binding.json";

const identitySchema = z.object({ engine: z.string().min(1), cluster: z.string().min(1), topics: z.record(z.string(), z.string()) });

const epochSchema = z.object({
  bus: identitySchema,
  /** When this epoch began (ISO time). */
  since: z.string(),
  /** Per "topic/partition": added to the bus offset to give the lake offset. */
  base: z.record(z.string(), z.number().int().nonnegative()),
});

const bindingSchema = z.object({ version: z.literal(1), epochs: z.array(epochSchema).min(1).max(1000) });

export type LakeEpoch = z.infer<typeof epochSchema>;
export type LakeBinding = z.infer<typeof bindingSchema>;

export function parseLakeBinding(bytes: Uint8Array): LakeBinding {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new LakeBusMismatchError(`the lake's bus binding (${LAKE_BINDING_PATH}) is not JSON: ${(e as Error).message}`);
  }
  const r = bindingSchema.safeParse(raw);
  if (!r.success) throw new LakeBusMismatchError(`the lake's bus binding (${LAKE_BINDING_PATH}) is not valid: ${r.error.issues[0]?.message}`);
  return r.data;
}

export function encodeLakeBinding(b: LakeBinding): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(b, null, 2)}\n`);
}

export function currentEpoch(b: LakeBinding): LakeEpoch {
  return b.epochs[b.epochs.length - 1]!;
}

/** Same engine, same cluster, and every topic both name under the same engine name. */
export function sameBus(a: BusIdentity, b: BusIdentity): boolean {
  if (a.engine !== b.engine || a.cluster !== b.cluster) return false;
  for (const [t, name] of Object.entries(a.topics)) if (t in b.topics && b.topics[t] !== name) return false;
  return true;
}

export function describeBus(b: BusIdentity): string {
  const names = Object.entries(b.topics)
    .map(([t, n]) => (t === n ? t : `${t} as ${n}`))
    .join(", ");
  return `${b.engine} ${b.cluster} (topics ${names})`;
}

/** The lake and the bus cannot be reconciled: the sink refuses to start rather than skip or rewrite data. */
export class LakeBusMismatchError extends Error {
  override name = "LakeBusMismatchError";
}

export const ADOPT_HINT =
  "if the bus was replaced on purpose (a new cluster, a re-created topic, another namespace, a fresh data dir), adopt it with `acu lake adopt-bus` (docs/operations.md)";
