import { decodeCheckedDeploymentOrder, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { TOPICS, type Bus, type Consumer } from "../../src/ports/bus.ts";
import type { DispatchStore } from "../../src/ports/dispatch-store.ts";
import type { Log, Running } from "../lifecycle.ts";
import { Assigner } from "./assigner.ts";
import { OffsetsBehind } from "../offsets-behind.ts";
import { OrderIntake } from "./intake.ts";
import { DEFAULT_RELAY_OPTIONS, OutboxRelay } from "./relay.ts";
import { DispatchService } from "./service.ts";
import type { Clock } from "./writer.ts";

export const DISPATCH_GROUP = "acu-dispatch";
export const DEFAULT_ACK_TIMEOUT_MS = 60_000;

export interface DispatchOptions {
  /** An assignment not acknowledged this long after it was made goes to the next nearest patrol (ACU_DISPATCH_ACK_TIMEOUT). */
  ackTimeoutMs: number;
  /** How long a patrol that let an incident time out is not chosen again for it. Default: ackTimeoutMs. */
  passOverMs?: number;
  /** The assigner's safety round. Default 1000 ms. */
  tickMs: number;
  /** The outbox relay: see RelayOptions. */
  relayTakeoverMs: number;
  relayIntervalMs: number;
}

export const DEFAULT_DISPATCH_OPTIONS: DispatchOptions = {
  ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS,
  tickMs: 1000,
  relayTakeoverMs: DEFAULT_RELAY_OPTIONS.takeoverMs,
  relayIntervalMs: DEFAULT_RELAY_OPTIONS.intervalMs,
};

export interface DispatchRole extends Running {
  readonly service: DispatchService;
  readonly assigner: Assigner;
  readonly relay: OutboxRelay;
}

/**
 * The dispatch role: deployment orders from `alerts` into incidents (offsets committed only once the
 * store holds them), the assigner, and the outbox relay to `incident-events`. Everything it decides is a
 * CAS on the store and every deadline is derived from stored times, so any number of instances can run and
 * a killed one's work is simply carried on by the others (or by itself after a restart).
 *
 * `service` may be given (the http role's, in one process); else one is opened and closed with the role.
 */
export async function startDispatch(deps: {
  bus: Bus;
  store: DispatchStore;
  log: Log;
  service?: DispatchService;
  options?: Partial<DispatchOptions>;
  clock?: Clock;
}): Promise<DispatchRole> {
  const o = { ...DEFAULT_DISPATCH_OPTIONS, ...deps.options };
  if (!Number.isFinite(o.ackTimeoutMs) || o.ackTimeoutMs <= 0)
    throw new Error(`dispatch: ackTimeoutMs must be a positive number of milliseconds, not ${o.ackTimeoutMs}`);
  const log = deps.log.child({ component: "dispatch" });
  const clock = deps.clock ?? { now: Date.now };
  const service = deps.service ?? (await DispatchService.open(deps.store, log, { clock }));
  const assigner = new Assigner(
    service.writer,
    service.view,
    { ackTimeoutMs: o.ackTimeoutMs, passOverMs: o.passOverMs ?? o.ackTimeoutMs, tickMs: o.tickMs },
    log,
  );
  assigner.start();
  // A new incident is given its patrol in the commit that opens it when nothing waits (claimAtOpen).
  const intake = new OrderIntake(service.writer, (incident) => assigner.claimAtOpen(incident));
  const consumer = await consumeOrders(deps.bus, intake, log);
  const relay = new OutboxRelay(deps.store, deps.bus, { listen: (f) => service.writer.onEvents(f) }, clock, log, {
    ...DEFAULT_RELAY_OPTIONS,
    takeoverMs: o.relayTakeoverMs,
    intervalMs: o.relayIntervalMs,
  });
  relay.start();
  log.info("dispatch: started", { ackTimeoutMs: o.ackTimeoutMs, store: deps.store.engine, client: deps.store.clientId });
  return {
    name: "dispatch",
    service,
    assigner,
    relay,
    async stop() {
      await consumer.stop();
      await assigner.stop();
      await relay.stop();
      if (!deps.service) await service.close();
    },
  };
}

/**
 * `alerts` in group acu-dispatch. A batch's offsets are handed to be committed once every order of it is in
 * the store, and the next batch is taken at once (OffsetsBehind): the intake is idempotent, so a commit
 * lost to a crash only redelivers orders it knows.
 */
function consumeOrders(bus: Bus, intake: OrderIntake, log: Log): Promise<Consumer> {
  const offsets = new OffsetsBehind("dispatch", log);
  const options = {
    group: DISPATCH_GROUP,
    topics: [TOPICS.alerts],
    commit: "manual" as const,
    maxBatch: 500,
    concurrentPartitions: true,
    onRevoke: () => offsets.flush(),
    onLost: async (partitions: Array<{ topic: string; partition: number }>) => offsets.drop(partitions),
  };
  return bus.consume(options, async (batch, c) => {
    const orders: DeploymentOrder[] = [];
    let malformed = 0;
    for (const r of batch.records) {
      try {
        orders.push(decodeCheckedDeploymentOrder(r.value));
      } catch (e) {
        if (malformed++ === 0) log.warn(`dispatch: skipped a malformed order at ${batch.topic}/${batch.partition}@${r.offset}: ${(e as Error).message}`);
      }
    }
    if (malformed > 1) log.warn(`dispatch: skipped ${malformed} malformed orders in ${batch.topic}/${batch.partition}`);
    const counts = await intake.take(orders);
    offsets.hand(c, { topic: batch.topic, partition: batch.partition, offset: batch.records[batch.records.length - 1]!.offset + 1 });
    if (counts.opened + counts.attached > 0) log.debug("dispatch: orders taken", { ...counts });
  });
}
