import { Kafka, logLevel, type SASLOptions } from "kafkajs";
import type { Logger } from "../../log.ts";
import { retry } from "../../retry.ts";

const CLIENT_LOG_LEVELS = { nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG } as const;

export type ClientLogLevel = keyof typeof CLIENT_LOG_LEVELS;

/** SASL authentication of acu's Kafka user (PLAIN or SCRAM); the broker's ACLs decide what it may do. */
export interface KafkaAuth {
  mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
  username: string;
  password: string;
}

/** The kafkajs client of one bus; its own log goes through `log` (default level: nothing). */
export function newKafkaClient(o: { brokers: string[]; clientId?: string; clientLog?: ClientLogLevel; sasl?: KafkaAuth | null }, log: Logger): Kafka {
  return new Kafka({
    clientId: o.clientId ?? "acu",
    brokers: o.brokers,
    sasl: saslOptions(o.sasl),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: CLIENT_LOG_LEVELS[o.clientLog ?? "nothing"],
    logCreator:
      () =>
      ({ namespace, label, log: entry }) => {
        const { message, timestamp: _t, logger: _l, ...extra } = entry;
        log[label === "ERROR" ? "error" : label === "WARN" ? "warn" : label === "DEBUG" ? "debug" : "info"](
          `kafkajs ${label.toLowerCase()} [${namespace}] ${message}${Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : ""}`,
        );
      },
  });
}

/** kafkajs's SASL options of acu's user (kafkajs types each mechanism apart; the three share { mechanism, username, password }). */
export function saslOptions(auth: KafkaAuth | null | undefined): SASLOptions | undefined {
  return auth ? ({ mechanism: auth.mechanism, username: auth.username, password: auth.password } as SASLOptions) : undefined;
}

/**
 * Metadata settles a moment after a topic is created or a leader moves: kafkajs then reports retriable
 * errors (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE). Try again, bounded.
 */
export async function retrying<T>(what: string, f: () => Promise<T>, attempts = 10): Promise<T> {
  try {
    return await retry(f, { baseMs: 200, capMs: 2000, attempts, retriable: metadataSettling });
  } catch (e) {
    throw new Error(`kafka: ${what}: ${(e as Error).message}`);
  }
}

function metadataSettling(e: unknown): boolean {
  const err = e as { retriable?: boolean; message?: string };
  return err.retriable === true || /not the leader|leader not available|unknown topic|does not host this topic-partition/i.test(err.message ?? "");
}

/**
 * Kafka's COORDINATOR_NOT_AVAILABLE (15) or NOT_COORDINATOR (16; kafkajs: GROUP_COORDINATOR_NOT_AVAILABLE,
 * NOT_COORDINATOR_FOR_GROUP): the broker asked does not coordinate the group (now). Looked for through
 * kafkajs's wrappers (a retrier's NumberOfRetriesExceeded carries the last error as its cause).
 */
export function coordinatorMoved(e: unknown): boolean {
  for (const err of errorChain(e)) if (err.code === 15 || err.code === 16) return true;
  return false;
}

type Chained = { code?: unknown; type?: unknown; name?: unknown; message?: unknown; cause?: unknown } | undefined;

/** Each error of e's chain (kafkajs wraps: a retrier's NumberOfRetriesExceeded carries the last error as its cause), at most 5 deep. */
export function* errorChain(e: unknown): Generator<NonNullable<Chained>> {
  for (let err = e as Chained, depth = 0; err && typeof err === "object" && depth < 5; err = err.cause as Chained, depth++) yield err;
}
