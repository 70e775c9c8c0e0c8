import { createRequire } from "node:module";

/**
 * Fault injection at kafkajs's broker boundary, for what a one-broker cluster cannot do: move a group's
 * coordinator. kafkajs's internals have no types; only the request methods patched here are touched.
 */
const require = createRequire(import.meta.url);
type Request = (this: object, request: { groupId: string }) => Promise<unknown>;
const Broker = require("kafkajs/src/broker/index.js") as { prototype: Record<string, Request> };
const { createErrorFromCode } = require("kafkajs/src/protocol/error.js") as { createErrorFromCode(code: number): Error };

/** Kafka's error 16 (kafkajs: NOT_COORDINATOR_FOR_GROUP): the broker asked no longer coordinates the group. */
const NOT_COORDINATOR = 16;

export interface InjectedFault {
  /** Requests answered with the injected error so far. */
  refused(): number;
  /** Gives kafkajs its own method back. */
  restore(): void;
}

/**
 * The group's coordinator moved while a member stays connected to the broker it found at join: that
 * broker (the first kafkajs broker connection to receive an OffsetCommit for `group`) answers every
 * later OffsetCommit of the group with NOT_COORDINATOR. Other connections (another client's, as a new
 * member's) reach the coordinator. Heartbeats are left alone: only the commit path is tested.
 */
export function staleGroupCoordinator(group: string): InjectedFault {
  let stale: object | null = null;
  return patch("offsetCommit", (broker, request) => {
    if (request.groupId !== group) return false;
    stale ??= broker;
    return broker === stale;
  });
}

/** The first TxnOffsetCommit for `group` (a transaction's sendOffsets) is answered NOT_COORDINATOR. */
export function groupCoordinatorMovedOnce(group: string): InjectedFault {
  let moved = false;
  return patch("txnOffsetCommit", (_broker, request) => {
    if (request.groupId !== group || moved) return false;
    moved = true;
    return true;
  });
}

function patch(method: string, refuse: (broker: object, request: { groupId: string }) => boolean): InjectedFault {
  const original = Broker.prototype[method]!;
  let refused = 0;
  Broker.prototype[method] = async function (this: object, request) {
    if (!refuse(this, request)) return original.call(this, request);
    refused++;
    throw createErrorFromCode(NOT_COORDINATOR);
  };
  return { refused: () => refused, restore: () => void (Broker.prototype[method] = original) };
}
