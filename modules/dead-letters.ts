import type { Bus, BusRecord, OutgoingMessage } from "../src/ports/bus.ts";

/** A message acu could not take, as `reports-dlq` carries it: why, where it was read, its bytes (base64). */
export interface DeadLetter {
  reason: string;
  /** The topic's name on the engine (with the namespace; a raw topic's literal name). */
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

/** Bytes of a message kept in its dead letter: a dead letter stays far under the broker's message size whatever it carries. */
export const DEAD_LETTER_VALUE_BYTES = 16 * 1024;

/** The dead letter of a record (its topic as the consumer named it; see deadLetterMessages). */
export function deadLetterOf(r: BusRecord, reason: string): DeadLetter {
  const kept = r.value.byteLength > DEAD_LETTER_VALUE_BYTES ? r.value.subarray(0, DEAD_LETTER_VALUE_BYTES) : r.value;
  const cut = kept === r.value ? "" : ` (message of ${r.value.byteLength} bytes; its first ${DEAD_LETTER_VALUE_BYTES} kept)`;
  return { reason: reason + cut, topic: r.topic, partition: r.partition, offset: r.offset, value: Buffer.from(kept).toString("base64") };
}

/** The messages of `reports-dlq` for these dead letters, each naming its topic as the engine does, keyed by topic/partition/offset. */
export function deadLetterMessages(bus: Bus, deadLetters: DeadLetter[]): OutgoingMessage[] {
  return deadLetters.map((d) => {
    const named = { ...d, topic: bus.topicName(d.topic) };
    return { key: `${named.topic}/${d.partition}/${d.offset}`, value: JSON.stringify(named) };
  });
}
