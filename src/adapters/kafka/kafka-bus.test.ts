import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { busContract } from "../../ports/bus.contract.ts";
import { BusUnavailableError } from "../../ports/bus.ts";
import { KafkaBus } from "./kafka-bus.ts";

setDefaultTimeout(120_000);
const brokers = process.env.ACU_KAFKA_BROKERS?.split(",");
if (!brokers) console.log("kafka-bus.test: ACU_KAFKA_BROKERS is not set (scripts/cluster up && eval \"$(scripts/cluster env)\"); skipping the Kafka contract");

describe.skipIf(!brokers)("Kafka bus", () => {
  // Fresh topics per run so counts start at zero.
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const topic = `contract-in-${run}`;
  const outTopic = `contract-out-${run}`;
  busContract("kafka", () => KafkaBus.open({ brokers: brokers!, partitions: { [topic]: 3, [outTopic]: 2 } }), { topic, outTopic });

  test("a broker that cannot be reached is a clear error at open", async () => {
    await expect(KafkaBus.open({ brokers: ["127.0.0.1:1"], partitions: { x: 1 } })).rejects.toThrow("cannot reach Kafka at 127.0.0.1:1");
  });

  test("a publish Kafka refuses is a BusUnavailableError (ingest answers 503)", async () => {
    const bus = await KafkaBus.open({ brokers: brokers!, partitions: { [topic]: 3 } });
    try {
      // A topic that does not exist, with auto-creation off, cannot take writes.
      await expect(bus.publish(`missing-${run}`, [{ key: "k", value: "v" }])).rejects.toBeInstanceOf(BusUnavailableError);
    } finally {
      await bus.close();
    }
  });
});
