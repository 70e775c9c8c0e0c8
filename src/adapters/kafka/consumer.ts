import type { Consumer as KConsumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "../../log.ts";
import {
  HandlerBackpressure,
  REDELIVERY_BACKOFF,
  type BusRecord,
  type Consumer,
  type ConsumerOptions,
  type OffsetCommit,
  type OutgoingMessage,
  type RecordBatch,
} from "../../ports/bus.ts";
import { backoffDelay, deadline, retry, sleep } from "../../retry.ts";
import { coordinatorMoved, retrying } from "./client.ts";
import { GroupAuthorizationError, groupRefused, groupTrouble, type GroupAccess } from "./group-access.ts";
import type { KeyPlacement } from "./producer.ts";
import type { KafkaTopics } from "./topics.ts";
import { KafkaTransactions } from "./transactions.ts";

/** What the consumers of one KafkaBus share with it. */
export interface KafkaContext {
  readonly kafka: Kafka;
  readonly topics: KafkaTopics;
  readonly placement: KeyPlacement;
  readonly log: Logger;
  /** A consumer whose fetch loop is silent this long, with no batch in hand, is replaced. */
  readonly consumerSilenceMs: number;
  /** Whether the user may use a group: asked before a consumer joins, and when a member cannot find its coordinator. */
  readonly groups: GroupAccess;
  /** A consumer's group refused to the user (an error), or joined again (null): the bus's ping reports it (readiness). */
  readonly groupRefusal: (consumer: object, refusal: GroupAuthorizationError | null) => void;
}

type Partition = { topic: string; partition: number };

/**
 * One member of a consumer group: a kafkajs consumer, replaced when kafkajs gives up on it (see recover),
 * the assignment handed to the owner (onAssign, onLost, onRevoke) and the batches handed to the handler,
 * at least once.
 */
export class KafkaConsumer implements Consumer {
  /** Replaced when kafkajs gives up on it (see recover). */
  private consumer: KConsumer;
  private readonly transactions: KafkaTransactions;
  /** Handler calls under way (several at once with concurrentPartitions): stop() waits for them all. */
  private readonly inFlight = new Set<Promise<void>>();
  private stopping: Promise<void> | null = null;
  private assigned: Partition[] = [];
  /** The handling of the latest assignment (onLost, onAssign and its seeks): batches wait for it. */
  private assigning: Promise<void> = Promise.resolve();
  /** Failures in a row per partition ("topic/partition"): partitions handled concurrently back off each on its own count. */
  private readonly failures = new Map<string, number>();
  /** Last sign of life of kafkajs's fetch loop (a fetch begun or ended, a join, a batch begun or ended). */
  private alive = Date.now();
  /** onBatch calls under way: while one runs, kafkajs does not fetch, and silence is the handler's, not kafkajs's. */
  private batches = 0;
  private recovering: Promise<void> | null = null;
  /** Aborted by stop(): ends a replacement's retries and the pause before a failed batch is fetched again. */
  private readonly halted = new AbortController();
  private watchdog: ReturnType<typeof setInterval> | null = null;
  /** A look at the group's access under way (checkGroup), and when the last one began. */
  private checking: Promise<void> | null = null;
  private checkedAt = 0;

  constructor(
    private readonly ctx: KafkaContext,
    private readonly options: ConsumerOptions,
    private readonly handle: (batch: RecordBatch, consumer: Consumer) => Promise<void>,
    private readonly onStopped: () => void,
  ) {
    this.consumer = this.newConsumer();
    this.transactions = new KafkaTransactions(ctx.kafka, ctx.topics, ctx.placement, options.group);
  }

  async start(): Promise<void> {
    // A group the user may not use would never be joined: kafkajs reports the broker's refusal as "Failed
    // to find group coordinator" and tries again for ever. Refused here, naming the group and the grant.
    try {
      await this.ctx.groups.admit(this.ctx.topics.name(this.options.group), this.halted.signal);
    } catch (e) {
      this.onStopped();
      throw e;
    }
    if (this.stopping) return;
    await this.run(this.consumer);
    // kafkajs restarts a consumer itself only after a retriable error; after any other (seen: commits and
    // fetches failing with "Broker N not found in the cached metadata" once 2 of 3 brokers came back) it
    // stops for good, and the role would sit on its backlog until restarted by hand. The CRASH event says
    // so (restart: false); the watchdog covers a fetch loop that stopped without one.
    const silenceMs = this.ctx.consumerSilenceMs;
    this.watchdog = setInterval(
      () => {
        const silentMs = Date.now() - this.alive;
        if (this.batches === 0 && silentMs > silenceMs) void this.recover(`no fetch for ${Math.round(silentMs / 1000)} s`);
      },
      Math.min(1000, silenceMs / 4),
    );
    this.watchdog.unref?.();
  }

  async commit(offsets: OffsetCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    const consumer = this.consumer;
    try {
      await consumer.commitOffsets(offsets.map((o) => ({ topic: this.ctx.topics.name(o.topic), partition: o.partition, offset: String(o.offset) })));
    } catch (e) {
      // kafkajs sends a member's commits to the broker that coordinated its group at join, for as long as
      // that broker answers: refused with NOT_COORDINATOR, it refreshes metadata, not the coordinator, and
      // tries the same broker again. Only a join looks the coordinator up, and kafkajs joins again only when
      // a heartbeat or fetch of its loop is refused, which never comes while a handler waits for a commit
      // (the sink's size flush). A new member finds the coordinator; the work is redone from the committed
      // offsets (onLost), and the caller's retry goes to the new member.
      if (consumer === this.consumer && coordinatorMoved(e)) void this.recover("the group coordinator moved");
      this.onGroupError(e);
      throw e;
    }
  }

  commitWith(publish: Array<{ topic: string; messages: OutgoingMessage[] }>, offsets: OffsetCommit[]): Promise<void> {
    return this.transactions.commitWith(publish, offsets);
  }

  async lag(): Promise<number> {
    const topics = this.ctx.topics;
    const committed = await retrying("reading committed offsets", () => topics.committed(this.options.group, this.options.topics));
    const ends = new Map<string, number[]>();
    let lag = 0;
    for (const c of committed) {
      let end = ends.get(c.topic);
      if (!end) ends.set(c.topic, (end = await topics.endOffsets(c.topic)));
      lag += Math.max(0, end[c.partition]! - c.offset);
    }
    return lag;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.halted.abort();
      if (this.watchdog) clearInterval(this.watchdog);
      await this.recovering;
      this.ctx.groupRefusal(this, null);
      // Stop fetching, let the batch in hand finish, then let the owner flush and commit while still a member.
      // (A consumer stopped before it ran, while its group was being looked at, has nothing to pause.)
      try {
        this.consumer.pause(this.options.topics.map((topic) => ({ topic: this.ctx.topics.name(topic) })));
      } catch {}
      await Promise.all([...this.inFlight].map((w) => w.catch(() => {})));
      await this.options.onRevoke?.(this.assigned).catch((e) => this.ctx.log.warn(`kafka: ${this.options.group} revoke: ${(e as Error).message}`));
      await this.consumer.disconnect().catch(() => {});
      await this.transactions.reset();
      this.onStopped();
    })();
    return this.stopping;
  }

  private newConsumer(): KConsumer {
    return this.ctx.kafka.consumer({
      groupId: this.ctx.topics.name(this.options.group),
      allowAutoTopicCreation: false,
      readUncommitted: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 20_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 100,
    });
  }

  private async run(consumer: KConsumer): Promise<void> {
    this.listen(consumer);
    this.alive = Date.now();
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics.map((t) => this.ctx.topics.name(t)), fromBeginning: this.options.start !== "latest" });
    // kafkajs hands the batches of one fetch to its workers and fetches again only when all are done. With
    // one worker the partitions are handled one after the other, each paying its own round trips (the alert
    // role: a thresholds read and a transaction per partition, six in a row per fetch); with one worker per
    // partition they run together and their commitWith calls share one transaction.
    const partitions = this.options.topics.reduce((n, t) => n + this.ctx.topics.partitions(t), 0);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrentPartitions ? partitions : 1,
      eachBatch: (payload) => this.onBatch(payload, consumer),
    });
  }

  /** The kafkajs events this member follows: signs of life, assignments, crashes, positions past markers. */
  private listen(consumer: KConsumer): void {
    const { events } = consumer;
    const alive = (): void => {
      if (consumer === this.consumer) this.alive = Date.now();
    };
    for (const e of [events.FETCH_START, events.FETCH, events.GROUP_JOIN, events.START_BATCH_PROCESS, events.END_BATCH_PROCESS, events.CONNECT])
      consumer.on(e, alive);
    consumer.on(events.GROUP_JOIN, (e) => {
      if (consumer !== this.consumer) return;
      // Joined: whatever was refused before is granted now.
      this.ctx.groupRefusal(this, null);
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      const now = Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic: this.ctx.topics.logical(topic), partition })));
      const revoked = this.assigned.filter((a) => !now.some((n) => n.topic === a.topic && n.partition === a.partition));
      this.assigned = now;
      this.assigning = this.assignedChanged(now, revoked);
    });
    consumer.on(events.CRASH, (e) => {
      const { error, restart } = e.payload as { error: Error; restart: boolean };
      this.ctx.log.warn(`kafka: ${this.options.group} consumer failed${restart ? ", kafkajs restarts it" : ""}: ${error.message}`);
      if (consumer === this.consumer) this.onGroupError(error);
      if (!restart && consumer === this.consumer) void this.recover("kafkajs stopped it");
    });
    // A batch of transaction markers (or aborted records) only: no handler call, but the position moved.
    const onPosition = this.options.onPosition;
    if (onPosition)
      consumer.on(events.END_BATCH_PROCESS, (e) => {
        const b = e.payload as { topic: string; partition: number; batchSize: number; lastOffset: string };
        if (b.batchSize === 0 && consumer === this.consumer) onPosition(this.ctx.topics.logical(b.topic), b.partition, Number(b.lastOffset) + 1);
      });
  }

  /**
   * A new kafkajs consumer in place of one that stopped: as after a rebalance that took every partition
   * away (onLost: uncommitted work is dropped and fetched again from the committed offsets, at least once),
   * then a new member joins the group. Tried again until it is running or the consumer is stopped.
   */
  private recover(why: string): Promise<void> {
    // Stopping, it leaves the group anyway (a commit refused in onRevoke's flush is the next owner's to redo).
    if (this.stopping) return Promise.resolve();
    this.recovering ??= retry(
      async (attempt) => {
        this.ctx.log.warn(`kafka: ${this.options.group} consumer stopped (${why}); replacing it${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
        await this.replaceConsumer();
        if (this.stopping) return;
        await this.run(this.consumer);
        this.ctx.log.info(`kafka: ${this.options.group} consumer replaced`);
      },
      {
        baseMs: 1000,
        capMs: 10_000,
        signal: this.halted.signal,
        onRetry: (e) => {
          why = (e as Error).message;
          this.onGroupError(e);
        },
      },
    )
      // Retried until it runs: only stop() (the abort) ends it otherwise, and then nothing is left to do.
      .catch(() => {})
      .finally(() => {
        this.recovering = null;
        this.alive = Date.now();
      });
    return this.recovering;
  }

  /**
   * After a failure of the member (a join, a heartbeat, a commit, a replacement): the user's grant on the
   * group may have been taken away since the start. The broker's own GROUP_AUTHORIZATION_FAILED says so at
   * once; "Failed to find group coordinator" (what kafkajs makes of a refused FindCoordinator, and of
   * coordinators that did not answer) is looked at (checkGroup). Refused, it is said loudly (an error in the
   * log, and the bus's ping, hence /readyz, names it) while the member goes on trying to join as before: a
   * grant given back lets it join (GROUP_JOIN clears the refusal).
   */
  private onGroupError(e: unknown): void {
    if (groupRefused(e)) this.refused(new GroupAuthorizationError(this.ctx.topics.name(this.options.group), this.ctx.groups.user));
    else if (groupTrouble(e)) void this.checkGroup();
  }

  private refused(e: GroupAuthorizationError): void {
    if (this.stopping) return;
    this.ctx.log.error(`kafka: ${e.message}; its consumer cannot join and keeps trying`);
    this.ctx.groupRefusal(this, e);
  }

  /** One look at the group's access (GroupAccess.look); at most one at a time, and one per 5 s; stop() does not wait for it. */
  private checkGroup(): Promise<void> {
    if (this.stopping || this.checking || Date.now() - this.checkedAt < 5000) return this.checking ?? Promise.resolve();
    this.checkedAt = Date.now();
    this.checking = this.ctx.groups
      .look(this.ctx.topics.name(this.options.group))
      .catch((e) => {
        // Anything but a refusal is "cannot tell now": the member's own retries go on.
        if (e instanceof GroupAuthorizationError) this.refused(e);
      })
      .finally(() => {
        this.checking = null;
      });
    return this.checking;
  }

  /** A new kafkajs consumer in place of the current one, whose partitions are given up (onLost). */
  private async replaceConsumer(): Promise<void> {
    const old = this.consumer;
    this.consumer = this.newConsumer();
    this.alive = Date.now();
    await deadline(old.disconnect(), 10_000, "disconnect").catch(() => {});
    await deadline(Promise.all([...this.inFlight].map((w) => w.catch(() => {}))), 30_000, "handlers").catch(() => {});
    const lost = this.assigned;
    this.assigned = [];
    this.assigning = Promise.resolve();
    if (lost.length > 0) await this.options.onLost?.(lost).catch((e) => this.ctx.log.warn(`kafka: ${this.options.group} lost: ${(e as Error).message}`));
    await this.transactions.reset();
  }

  private async assignedChanged(now: Partition[], revoked: Partition[]): Promise<void> {
    try {
      // Known only after the rebalance: another member may already own them, so their work is dropped, not committed.
      if (revoked.length > 0) await this.options.onLost?.(revoked);
      if (!this.options.onAssign || now.length === 0) return;
      const committed = await this.ctx.topics.committed(this.options.group, [...new Set(now.map((n) => n.topic))]);
      const parts = now.map((n) => ({ ...n, committed: committed.find((c) => c.topic === n.topic && c.partition === n.partition)?.offset ?? 0 }));
      const seeks = (await this.options.onAssign(parts)) ?? [];
      for (const s of seeks) this.consumer.seek({ topic: this.ctx.topics.name(s.topic), partition: s.partition, offset: String(s.offset) });
    } catch (e) {
      this.ctx.log.warn(`kafka: ${this.options.group} assignment handling failed: ${(e as Error).message}`);
    }
  }

  private async onBatch(payload: EachBatchPayload, consumer: KConsumer): Promise<void> {
    // Waiting for the owner (its onAssign, e.g. the sink's, queued behind a lake write that waits for a
    // DataNode) is not a stalled fetch loop: the watchdog leaves it be.
    this.batches++;
    try {
      // The first fetch of a generation can complete before onAssign has run: a backlog would then reach the
      // handler before the owner set up the partition (the sink replaced such a buffer and lost its records)
      // and before onAssign's seeks. Wait for it; a seek makes this batch stale, and it is fetched again.
      await this.assigning;
      // A batch of a consumer since replaced: its partitions were given up (onLost).
      if (consumer !== this.consumer) return;
      await this.handleBatch(payload, consumer);
    } finally {
      this.batches--;
      this.alive = Date.now();
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload, consumer: KConsumer): Promise<void> {
    if (this.stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
    const topic = this.ctx.topics.logical(batch.topic);
    const records = toRecords(batch, topic);
    const max = this.options.maxBatch ?? 2000;
    for (let i = 0; i < records.length; i += max) {
      const slice = records.slice(i, i + max);
      if (!(await this.handleSlice(topic, batch.partition, slice))) {
        // At-least-once: fetch the same records again after a pause, never skip them.
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(slice[0]!.offset) });
        return;
      }
      resolveOffset(String(slice[slice.length - 1]!.offset));
      await heartbeat();
      if (this.stopping || !isRunning() || isStale()) return;
    }
    // The batch may end with a transaction marker: its offset is read too.
    this.options.onPosition?.(topic, batch.partition, Number(batch.lastOffset()) + 1);
  }

  /** The handler (and an auto commit) for some records of a partition; false, after a pause, when it failed. */
  private async handleSlice(topic: string, partition: number, slice: BusRecord[]): Promise<boolean> {
    const key = `${topic}/${partition}`;
    const next = slice[slice.length - 1]!.offset + 1;
    const work = (async () => {
      await this.handle({ topic, partition, records: slice }, this);
      if (this.options.commit === "auto") await this.commit([{ topic, partition, offset: next }]);
    })();
    this.inFlight.add(work);
    try {
      await work;
      this.failures.delete(key);
      return true;
    } catch (e) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      this.ctx.log[e instanceof HandlerBackpressure ? "debug" : "warn"](
        `kafka: ${this.options.group} ${key}@${slice[0]!.offset}: ${(e as Error).message}; retrying`,
      );
      await sleep(backoffDelay(REDELIVERY_BACKOFF, failures), this.halted.signal);
      return false;
    } finally {
      this.inFlight.delete(work);
    }
  }
}

function toRecords(batch: EachBatchPayload["batch"], topic: string): BusRecord[] {
  return batch.messages.map((m) => ({
    topic,
    partition: batch.partition,
    offset: Number(m.offset),
    key: m.key?.toString() ?? "",
    value: m.value ? new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength) : new Uint8Array(),
    timestamp: Number(m.timestamp),
  }));
}
