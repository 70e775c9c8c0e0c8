import { encodeIncidentEvent } from "../../src/domain/incident-event.ts";
import { backoffDelay, sleep } from "../../src/retry.ts";
import { DISPATCH_BACKOFF } from "./writer.ts";
import { TOPICS, type Bus } from "../../src/ports/bus.ts";
import type { DispatchStore, OutboxEntry } from "../../src/ports/dispatch-store.ts";
import type { Log } from "../lifecycle.ts";
import type { Clock } from "./writer.ts";
import { ViewRounds, type RoundCues } from "./rounds.ts";

export interface RelayOptions {
  /** Events committed by another store client are published by this relay once they are this old (that client may be dead). */
  takeoverMs: number;
  /** A round at least this often. */
  intervalMs: number;
  /** Events per publish. */
  batch: number;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = { takeoverMs: 2000, intervalMs: 250, batch: 500 };

/**
 * Publishes the outbox to `incident-events`, keyed by incidentId, then takes the events out of it: at
 * least once (a crash between the publish and the removal publishes them again, with the same event ids,
 * which readers keep once). Each relay publishes the events its own store client committed at once, and
 * anyone's once they are `takeoverMs` old, so live processes do not publish each other's events twice and
 * a killed one's are published anyway. An incident's events go out in seq order: one that must wait holds
 * back the later ones of its incident.
 */
export class OutboxRelay {
  private readonly runs: ViewRounds;
  private failures = 0;
  published = 0;

  constructor(
    private readonly store: DispatchStore,
    private readonly bus: Bus,
    cues: RoundCues,
    private readonly clock: Clock,
    private readonly log: Log,
    private readonly o: RelayOptions = DEFAULT_RELAY_OPTIONS,
  ) {
    // Cued by this process's commits with events (the writer's onEvents): a relay cued by every change any
    // process makes read the whole outbox at each, in each process (~190 etcd range reads/s at 10 incidents/s).
    // Others' events are due only after takeoverMs, which the interval finds.
    this.runs = new ViewRounds(cues, o.intervalMs, () => this.guardedRound());
  }

  start(): void {
    this.runs.start();
  }

  kick(): void {
    this.runs.kick();
  }

  /** Stops, after publishing what this client committed. */
  async stop(): Promise<void> {
    await this.runs.stop();
    try {
      while ((await this.round()) > 0);
    } catch (e) {
      this.log.warn(`dispatch relay: events left in the outbox at stop (another process will publish them): ${(e as Error).message}`);
    }
  }

  /** Publishes one batch; the number of events published. */
  async round(): Promise<number> {
    const pending = await this.store.pendingEvents(this.o.batch);
    const due = this.due(pending);
    if (due.length === 0) return 0;
    await this.bus.publish(
      TOPICS.incidentEvents,
      due.map((e) => ({ key: e.event.incidentId, value: encodeIncidentEvent(e.event) })),
    );
    await this.store.ackEvents(due.map((e) => e.event.eventId));
    this.published += due.length;
    return due.length;
  }

  private due(pending: OutboxEntry[]): OutboxEntry[] {
    const now = this.clock.now();
    const held = new Set<string>();
    const out: OutboxEntry[] = [];
    for (const e of pending) {
      const id = e.event.incidentId;
      if (held.has(id)) continue;
      if (e.owner === this.store.clientId || now - e.committedAt >= this.o.takeoverMs) out.push(e);
      else held.add(id);
    }
    return out;
  }

  /** One batch; true when a full one went out (more are likely waiting) or it failed (try again after a wait). */
  private async guardedRound(): Promise<boolean> {
    try {
      const full = (await this.round()) >= this.o.batch;
      this.failures = 0;
      return full;
    } catch (e) {
      if (this.failures++ === 0) this.log.warn(`dispatch relay: cannot publish incident events (retrying): ${(e as Error).message}`);
      await sleep(backoffDelay(DISPATCH_BACKOFF, this.failures));
      return true;
    }
  }
}
