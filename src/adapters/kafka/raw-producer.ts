import type { Producer } from "kafkajs";
import { silentLogger } from "../../log.ts";
import { newKafkaClient, type KafkaAuth } from "./client.ts";
import { muteTimeoutNegativeWarnings } from "./warnings.ts";

/**
 * A plain Kafka producer writing to one topic by its literal name, as external producers do (acu signal
 * --kafka): idempotent, acks=all, kafkajs's default partitioner on the key. No topic is created.
 */
export class RawTopicProducer {
  private constructor(
    private readonly producer: Producer,
    readonly topic: string,
    /** Gives the process's warning listeners back (see warnings.ts). */
    private readonly unmute: () => void,
  ) {}

  static async open(o: { brokers: string[]; sasl?: KafkaAuth | null; topic: string }): Promise<RawTopicProducer> {
    const unmute = muteTimeoutNegativeWarnings();
    const kafka = newKafkaClient({ brokers: o.brokers, clientId: "acu-signal", sasl: o.sasl }, silentLogger);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (e) {
      unmute();
      throw new Error(`cannot reach Kafka at ${o.brokers.join(",")}: ${(e as Error).message}`);
    }
    return new RawTopicProducer(producer, o.topic, unmute);
  }

  /** Resolves once the brokers hold every message (acks=all). */
  async send(messages: Array<{ key: string; value: string }>): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages });
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
    this.unmute();
  }
}
