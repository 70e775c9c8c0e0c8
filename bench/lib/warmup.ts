import { CompressionTypes, type Admin, type Kafka, type Producer, type Transaction } from "kafkajs";
import { kafkaClient, withAdmin } from "./common.ts";

const PREFIX = "bench-warmup";
const PARTITIONS = 6;
const BATCH = 50;
/** How long the warm-up's topics may take to be created and led. */
const SETUP_MS = 30_000;
const PRODUCERS = 3;
/** Transactional producers committing back to back (each waits on its last one's markers, as acu's do). */
const TRANSACTORS = 6;
/** About a report's size on the topic. */
const PAYLOAD = JSON.stringify({ reportId: "r".repeat(24), studentId: "s".repeat(12), exerciseId: "bsq", score: 42.5, latitude: 48.85, longitude: 2.35 });

export interface BrokerWarmup {
  seconds: number;
  produced: number;
  transactions: number;
  /** Requests refused and tried again (a broker just started refuses some at first). */
  failures: number;
}

type Totals = Omit<BrokerWarmup, "seconds">;

/**
 * The broker as production has one: warm. The bench cluster's Kafka is a new JVM at each `bench` run, and
 * its first minute goes to compiling its request paths, which the first benchmark then pays for (measured:
 * dispatch-latency's headroom p99 557–1,070 ms on a broker just started, 107–121 ms on the same one after one
 * run; alert-latency ran acu first and the peers after, on a warmer broker). Before any benchmark this drives
 * the paths they use — idempotent produce, read_committed fetch, a consumer group, transactions carrying
 * offsets — as fast as they go for `seconds`, on topics of its own, deleted after.
 */
export async function warmBroker(brokers: string, seconds: number, log: (l: string) => void): Promise<BrokerWarmup> {
  const run = `${PREFIX}-${Date.now().toString(36)}`;
  const topics = { in: `${run}.in`, out: `${run}.out` };
  const totals: Totals = { produced: 0, transactions: 0, failures: 0 };
  // A broker just up may refuse even the creation ("This server does not host this topic-partition"): tried again.
  const created = await started(performance.now() + SETUP_MS, totals, () =>
    withAdmin(brokers, async (a) => {
      await a.createTopics({ topics: Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })) });
      await topicsReady(a, Object.values(topics));
    }),
  );
  if (created === null) throw new Error(`broker warm-up: its topics were not ready within ${SETUP_MS / 1000} s`);
  const kafka = kafkaClient(brokers, run);
  const deadline = performance.now() + seconds * 1000;
  try {
    const relay = await started(deadline, totals, () => startRelay(kafka, run, topics, totals));
    const readOut = await started(deadline, totals, () => startReader(kafka, `${run}-reader`, topics.out));
    try {
      await Promise.all([
        ...Array.from({ length: PRODUCERS }, () => produceUntil(kafka, topics.in, deadline, totals)),
        ...Array.from({ length: TRANSACTORS }, (_, i) => transactUntil(kafka, run, i, topics, deadline, totals)),
      ]);
    } finally {
      await relay?.disconnect();
      await readOut?.disconnect();
    }
  } finally {
    await withAdmin(brokers, (a) => a.deleteTopics({ topics: Object.values(topics) })).catch(() => {});
  }
  log(`broker warm-up: ${seconds} s, ${totals.produced} records produced, ${totals.transactions} transactions, ${totals.failures} refused and tried again`);
  return { seconds, ...totals };
}

/** Until every partition of the topics has a leader in the metadata (a topic just created may not, even after waitForLeaders). */
async function topicsReady(admin: Admin, topics: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (e) {
      if (attempt >= 50) throw e;
    }
    if (attempt >= 50) throw new Error(`broker warm-up: topics ${topics.join(", ")} have no leaders after ${attempt} tries`);
    await Bun.sleep(100);
  }
}

/**
 * `step` again and again until the deadline. A broker just started refuses some requests at first (the
 * coordinators' topics are created at their first use: "The group coordinator is not available"): a failed
 * step is counted and tried again after a pause, never the end of the warm-up.
 */
async function repeatUntil(deadline: number, totals: { failures: number }, step: () => Promise<void>): Promise<void> {
  while (performance.now() < deadline) {
    try {
      await step();
    } catch {
      totals.failures++;
      await Bun.sleep(250);
    }
  }
}

/** What `start` starts, tried again after a refusal (as a step of repeatUntil) until it starts; null if not before the deadline. */
async function started<T>(deadline: number, totals: { failures: number }, start: () => Promise<T>): Promise<T | null> {
  while (performance.now() < deadline) {
    try {
      return await start();
    } catch {
      totals.failures++;
      await Bun.sleep(250);
    }
  }
  return null;
}

/** `step` with `producer` until the deadline (repeatUntil), connected before the first step, disconnected after. */
async function producing(producer: Producer, deadline: number, totals: Totals, step: (p: Producer) => Promise<void>): Promise<void> {
  let connected = false;
  try {
    await repeatUntil(deadline, totals, async () => {
      if (!connected) await producer.connect();
      connected = true;
      await step(producer);
    });
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** An idempotent producer sending batches back to back until the deadline. */
function produceUntil(kafka: Kafka, topic: string, deadline: number, totals: Totals): Promise<void> {
  let n = 0;
  return producing(kafka.producer({ idempotent: true, maxInFlightRequests: 1 }), deadline, totals, async (producer) => {
    const messages = Array.from({ length: BATCH }, () => ({ key: String(n++ % 997), value: PAYLOAD }));
    await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
    totals.produced += BATCH;
  });
}

/** Transactions of a few records and a group's offset, one after the other, until the deadline. */
function transactUntil(kafka: Kafka, run: string, i: number, topics: { in: string; out: string }, deadline: number, totals: Totals): Promise<void> {
  let n = 0;
  const producer = kafka.producer({ transactionalId: `${run}-tx-${i}`, idempotent: true, maxInFlightRequests: 1 });
  return producing(producer, deadline, totals, async () => {
    const offset = String(n++);
    await inTransaction(producer, totals, async (tx) => {
      await tx.send({ topic: topics.out, messages: Array.from({ length: 10 }, (_, k) => ({ key: String(k), value: PAYLOAD })) });
      await tx.sendOffsets({ consumerGroupId: `${run}-offsets`, topics: [{ topic: topics.in, partitions: [{ partition: i % PARTITIONS, offset }] }] });
    });
  });
}

/** Consume, produce and commit the offsets in one transaction, batch by batch: the alert role's path. */
async function startRelay(kafka: Kafka, run: string, topics: { in: string; out: string }, totals: Totals) {
  const producer = kafka.producer({ transactionalId: `${run}-tx`, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${run}-relay`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const disconnect = async () => {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
  };
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.in], fromBeginning: true });
  } catch (e) {
    await disconnect();
    throw e;
  }
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const last = batch.messages[batch.messages.length - 1];
      if (!last) return;
      await inTransaction(producer, totals, async (tx) => {
        await tx.send({ topic: topics.out, messages: batch.messages.filter((_, i) => i % 50 === 0).map((m) => ({ key: m.key, value: m.value })) });
        const offset = String(Number(last.offset) + 1);
        await tx.sendOffsets({ consumerGroupId: `${run}-relay`, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }] });
      });
    },
  });
  return { disconnect };
}

/** One transaction around `body`: committed, or aborted and the error passed on. */
async function inTransaction(producer: Producer, totals: { transactions: number }, body: (tx: Transaction) => Promise<void>): Promise<void> {
  const tx = await producer.transaction();
  try {
    await body(tx);
    await tx.commit();
    totals.transactions++;
  } catch (e) {
    await tx.abort().catch(() => {});
    throw e;
  }
}

/** A read_committed reader of the relay's output (fetches that wait on transaction markers). */
async function startReader(kafka: Kafka, group: string, topic: string) {
  const consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachBatch: async () => {} });
  return { disconnect: () => consumer.disconnect().catch(() => {}) };
}
