/**
 * Peer (b) of the alert-throughput benchmark: the original's approach. A plain consumer (kafkajs, like acu,
 * so the comparison measures the design, not the client library) that judges each report and sends each
 * deployment order on its own, waiting for acks=all before reading the next report; offsets are
 * auto-committed every second.
 *
 * bun bench/peers/plain-consumer.ts <brokers> <input topic> <output topic> <group> <thresholds JSON>
 */
import { Kafka, logLevel } from "kafkajs";
import { alertIdFor } from "../../src/domain/deployment-order.ts";

const [brokers, input, output, group, thresholdsJson] = process.argv.slice(2) as [string, string, string, string, string];
const th = JSON.parse(thresholdsJson) as { default: number; exercises: Record<string, number> };
const kafka = new Kafka({ clientId: "acu-bench-plain", brokers: brokers.split(","), logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false });
const consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topics: [input], fromBeginning: true });
await consumer.run({
  autoCommit: true,
  autoCommitInterval: 1000,
  eachMessage: async ({ message }) => {
    let r: { reportId: string; studentId: string; exerciseId: string; score: number; latitude: number; longitude: number; region: string; timestamp: number };
    try {
      r = JSON.parse(message.value!.toString());
    } catch {
      return;
    }
    const threshold = Object.hasOwn(th.exercises, r.exerciseId) ? th.exercises[r.exerciseId]! : th.default;
    if (!(r.score < threshold)) return;
    const order = {
      alertId: alertIdFor(r.studentId, r.reportId),
      reportId: r.reportId,
      studentId: r.studentId,
      exerciseId: r.exerciseId,
      score: r.score,
      threshold,
      latitude: r.latitude,
      longitude: r.longitude,
      region: r.region,
      reportedAt: r.timestamp,
      raisedAt: Date.now(),
    };
    await producer.send({ topic: output, acks: -1, messages: [{ key: r.studentId, value: JSON.stringify(order) }] });
  },
});
console.log("running");
const stop = async () => {
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
