import {
  ADOPT_HINT,
  currentEpoch,
  describeBus,
  encodeLakeBinding,
  LAKE_BINDING_PATH,
  LakeBusMismatchError,
  parseLakeBinding,
  sameBus,
  type LakeBinding,
  type LakeEpoch,
} from "../../src/domain/lake-binding.ts";
import type { Bus, BusIdentity } from "../../src/ports/bus.ts";
import type { Lake } from "../../src/ports/lake.ts";
import type { Log } from "../lifecycle.ts";
import { highestWrittenOffsets } from "./assignment.ts";

async function readBinding(lake: Lake): Promise<LakeBinding | null> {
  const found = (await lake.list("_acu/")).some((f) => f.path === LAKE_BINDING_PATH);
  return found ? parseLakeBinding(await lake.read(LAKE_BINDING_PATH)) : null;
}

/** The partitions whose lake holds offsets past the bus's end (in bus offsets, after the epoch's base). */
async function aheadOfBus(bus: Bus, topics: string[], epoch: LakeEpoch, written: Map<string, number>): Promise<string[]> {
  const ahead: string[] = [];
  for (const topic of topics) {
    const ends = await bus.endOffsets(topic);
    for (const [key, lakeHighest] of written) {
      if (!key.startsWith(`${topic}/`)) continue;
      const partition = Number(key.slice(topic.length + 1));
      const busOffset = lakeHighest - (epoch.base[key] ?? 0);
      const end = ends[partition] ?? 0;
      if (busOffset >= end) ahead.push(`${key}: the lake holds offset ${busOffset}, the bus ends at ${end}`);
    }
  }
  return ahead;
}

/**
 * Checks, before the sink consumes anything, that the bus is the one the lake was written from and that
 * the lake is not ahead of it; records the binding in a lake that has none. Any doubt refuses to start
 * (LakeBusMismatchError naming both sides): resuming "after the lake's highest offset" on another bus
 * would silently skip every report up to it.
 */
export async function bindLakeToBus(lake: Lake, bus: Bus, topics: string[], log: Log): Promise<LakeEpoch> {
  const [binding, id, written] = await Promise.all([readBinding(lake), bus.identity(topics), highestWrittenOffsets(lake)]);
  const epoch = binding ? currentEpoch(binding) : { bus: id, since: new Date().toISOString(), base: {} };
  if (!sameBus(epoch.bus, id))
    throw new LakeBusMismatchError(
      `the lake was written from ${describeBus(epoch.bus)}, and this sink reads ${describeBus(id)}: refusing to start; ${ADOPT_HINT}`,
    );
  const ahead = await aheadOfBus(bus, topics, epoch, written);
  if (ahead.length > 0)
    throw new LakeBusMismatchError(
      `the lake is ahead of the bus ${describeBus(id)} (${ahead.slice(0, 5).join("; ")}${ahead.length > 5 ? `; and ${ahead.length - 5} more` : ""}): refusing to start; ${ADOPT_HINT}`,
    );
  if (!binding) {
    await lake.write(LAKE_BINDING_PATH, encodeLakeBinding({ version: 1, epochs: [epoch] }));
    log.info(`sink: the lake is now bound to ${describeBus(id)} (${LAKE_BINDING_PATH})`);
  }
  return epoch;
}

/**
 * `acu lake adopt-bus`: the bus now configured becomes the lake's, in a new epoch whose offsets come after
 * everything the lake holds (no file name can collide with an older one; nothing is moved or removed).
 * Refused when there is nothing to adopt: the lake is already bound to this bus and not ahead of it.
 */
export async function adoptBus(lake: Lake, bus: Bus, topics: string[]): Promise<{ previous: BusIdentity | null; epoch: LakeEpoch }> {
  const [binding, id, written] = await Promise.all([readBinding(lake), bus.identity(topics), highestWrittenOffsets(lake)]);
  const previous = binding ? currentEpoch(binding) : null;
  if (previous && sameBus(previous.bus, id) && (await aheadOfBus(bus, topics, previous, written)).length === 0)
    throw new LakeBusMismatchError(`the lake is already bound to ${describeBus(id)} and is not ahead of it: nothing to adopt`);
  const base: Record<string, number> = {};
  for (const [key, lakeHighest] of written) if (topics.some((t) => key.startsWith(`${t}/`))) base[key] = lakeHighest + 1;
  const epoch: LakeEpoch = { bus: id, since: new Date().toISOString(), base };
  const epochs = [...(binding?.epochs ?? []), epoch];
  await lake.write(LAKE_BINDING_PATH, encodeLakeBinding({ version: 1, epochs }));
  return { previous: previous?.bus ?? null, epoch };
}

/** `acu lake status`: the lake's epochs, the bus configured now, and whether a sink would start. */
export async function lakeBinding(lake: Lake, bus: Bus, topics: string[]) {
  const [binding, id, written] = await Promise.all([readBinding(lake), bus.identity(topics), highestWrittenOffsets(lake)]);
  const epoch = binding ? currentEpoch(binding) : null;
  const problems: string[] = [];
  if (epoch && !sameBus(epoch.bus, id)) problems.push(`the lake was written from ${describeBus(epoch.bus)}`);
  else problems.push(...(await aheadOfBus(bus, topics, epoch ?? { bus: id, since: "", base: {} }, written)));
  return { epochs: binding?.epochs ?? [], configuredBus: id, sinkWouldStart: problems.length === 0, problems };
}
