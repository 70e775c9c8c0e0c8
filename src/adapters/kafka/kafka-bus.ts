import { silentLogger, type Logger } from "../../log.ts";
import { rawTopicName, type Bus, type BusIdentity, type Consumer, type ConsumerOptions, type OutgoingMessage, type RecordBatch } from "../../ports/bus.ts";
import { OpenConsumers } from "../open-consumers.ts";
import { newKafkaClient, type ClientLogLevel, type KafkaAuth } from "./client.ts";
import { KafkaConsumer, type KafkaContext } from "./consumer.ts";
import { GroupAccess, type GroupAuthorizationError } from "./group-access.ts";
import { KafkaSends, KeyPlacement } from "./producer.ts";
import { KafkaTopics } from "./topics.ts";
import { muteTimeoutNegativeWarnings } from "./warnings.ts";

export { checkWritten } from "./producer.ts";

/** 64 MiB (ACU_KAFKA_PUBLISH_QUEUE_BYTES): ~30 s of an exam's peak (2,000 reports/s of ~1 KB), more than the 10 s a publish may wait. */
export const DEFAULT_PUBLISH_QUEUE_BYTES = 64 * 1024 * 1024;
export { TRANSACTION_TIMEOUT_MS } from "./transactions.ts";

export interface KafkaBusOptions {
  brokers: string[];
  /** Partitions per topic, used when a topic is created. */
  partitions: Record<string, number>;
  /** Replication factor of created topics; default min(3, brokers in the cluster). */
  replication?: number;
  clientId?: string;
  /** ACU_KAFKA_NAMESPACE: prefix of every topic and group name acu uses ("." added unless it ends with a separator), so several deployments share one cluster. */
  namespace?: string;
  log?: Logger;
  /** kafkajs's own log, written through `log`; default nothing (it logs every rebalance as an error). */
  clientLog?: ClientLogLevel;
  /** SASL user of this process (docs/operations.md: one per role, with the ACLs of its role); default none. */
  sasl?: KafkaAuth | null;
  /** A consumer whose fetch loop is silent this long, with no batch in hand, is replaced; default 60 000 ms. */
  consumerSilenceMs?: number;
  /** Longest a publish may take from its arrival (queueing and connecting a producer included) before it is refused (ingest: 503); default 10 000 ms. */
  publishTimeoutMs?: number;
  /** Bytes of publishes waiting for the brokers at most; beyond it a publish is refused at once (ingest: 503); default 64 MiB. */
  publishQueueBytes?: number;
}

/**
 * The bus on Apache Kafka (kafkajs). Topics are created at open; the producer is idempotent with
 * acks=all; each consumer is a member of its group; `commitWith` is a Kafka transaction (send + offsets),
 * and consumers read committed data only, so an order and its consumed offsets appear together or not at all.
 *
 * By concern: topics.ts (admin: topics, offsets), producer.ts (publishes, key placement),
 * transactions.ts (commitWith), consumer.ts (group membership, replacement, batches), warnings.ts.
 */
export class KafkaBus implements Bus {
  readonly engine = "kafka";
  private readonly consumers = new OpenConsumers();
  private closed = false;
  /** Consumers whose group Kafka refuses to this user now (found after their start): ping names them. */
  private readonly refused = new Map<object, GroupAuthorizationError>();
  private readonly ctx: KafkaContext;

  private constructor(
    ctx: Omit<KafkaContext, "groupRefusal">,
    private readonly sends: KafkaSends,
    /** Gives the process's warning listeners back (see warnings.ts). */
    private readonly unmute: () => void,
  ) {
    this.ctx = {
      ...ctx,
      groupRefusal: (consumer, refusal) => {
        if (refusal) this.refused.set(consumer, refusal);
        else this.refused.delete(consumer);
      },
    };
  }

  static async open(o: KafkaBusOptions): Promise<KafkaBus> {
    const log = o.log ?? silentLogger;
    const unmute = muteTimeoutNegativeWarnings();
    let topics: KafkaTopics | null = null;
    try {
      const kafka = newKafkaClient(o, log);
      topics = await KafkaTopics.open(kafka, o, log);
      const placement = new KeyPlacement(topics);
      const sends = await KafkaSends.open(kafka, placement, {
        timeoutMs: o.publishTimeoutMs ?? 10_000,
        queueBytes: o.publishQueueBytes ?? DEFAULT_PUBLISH_QUEUE_BYTES,
      });
      const groups = new GroupAccess({ brokers: o.brokers, clientId: o.clientId, sasl: o.sasl, log });
      return new KafkaBus({ kafka, topics, placement, log, consumerSilenceMs: o.consumerSilenceMs ?? 60_000, groups }, sends, unmute);
    } catch (e) {
      await topics?.close();
      unmute();
      throw e;
    }
  }

  /** The cluster's name of a topic or group. */
  name(logical: string): string {
    return this.ctx.topics.name(logical);
  }

  topicName(topic: string): string {
    return this.ctx.topics.name(topic);
  }

  partitions(topic: string): number {
    return this.ctx.topics.partitions(topic);
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.ctx.topics.endOffsets(topic);
  }

  async identity(topics: string[]): Promise<BusIdentity> {
    return { engine: this.engine, cluster: await this.ctx.topics.clusterId(), topics: Object.fromEntries(topics.map((t) => [t, this.name(t)])) };
  }

  /** Durable once acks=all; publishes made while a request is in flight share the next one (see KafkaSends). */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.sends.publish(topic, messages);
  }

  /**
   * A member of `options.group`, running. A group the user may not use (no Read ACL on it) is refused here,
   * naming the group, the user and the grant (GroupAuthorizationError), rather than tried for ever.
   */
  async consume(options: ConsumerOptions, handle: (batch: RecordBatch, consumer: Consumer) => Promise<void>): Promise<Consumer> {
    // External producers' topics (raw:<name>): looked up, never created.
    await this.ctx.topics.addRaw(options.topics.map(rawTopicName).filter((t) => t !== null));
    for (const t of options.topics) this.partitions(t);
    return this.consumers.start((stopped) => new KafkaConsumer(this.ctx, options, handle, stopped));
  }

  /**
   * See KafkaTopics.ping: every partition of acu's topics can take acks=all writes now; and no consumer's
   * group is refused to this user (a grant taken away after the start: its consumer cannot join).
   */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the Kafka bus is closed");
    const refusal = this.refused.values().next().value;
    if (refusal) throw new Error(refusal.message);
    await this.ctx.topics.ping();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.consumers.stopAll();
    await this.sends.close();
    await this.ctx.topics.close();
    this.unmute();
  }
}
