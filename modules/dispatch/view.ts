import type { Incident } from "../../src/domain/incident.ts";
import { backoffDelay, sleep } from "../../src/retry.ts";
import { DISPATCH_BACKOFF } from "./writer.ts";
import { isTerminal } from "../../src/domain/incident.ts";
import type { Patrol } from "../../src/domain/patrol.ts";
import type { DispatchChange, DispatchSnapshot, DispatchStore, DispatchWatch, Versioned } from "../../src/ports/dispatch-store.ts";
import type { Log } from "../lifecycle.ts";

/**
 * A frame of the change feed. `snapshot`: every active incident and every patrol, sent first when a
 * subscriber has no cursor or one older than the history kept (and again if the feed had to start over);
 * `change`: what one commit changed. `cursor` is the store revision the frame brings the subscriber to;
 * any process on the same store can resume from it.
 */
export type FeedFrame =
  | { type: "snapshot"; cursor: string; incidents: Incident[]; patrols: Patrol[] }
  | { type: "change"; cursor: string; incidents: Incident[]; patrols: Patrol[] };

export interface Subscription {
  close(): void;
}

/**
 * What this process knows of the store: the active incidents and every patrol with their revisions, kept
 * by one watch, with the recent changes for subscribers that resume. The assigner plans from it and the
 * feed serves from it; decisions are still CAS on the store, so a view a few milliseconds behind costs a
 * refused commit, never a wrong one. Commits made here are applied at once (read your writes); the feed
 * itself only ever moves forward in store order, from the watch.
 */
export class DispatchView {
  private readonly incidents = new Map<string, Versioned<Incident>>();
  private readonly patrols = new Map<string, Versioned<Patrol>>();
  /** Incidents this process closed before the watch told it: an older change must not bring them back. */
  private readonly closedHere = new Map<string, number>();
  private readonly history: DispatchChange[] = [];
  /** Every change after this revision is in `history`. */
  private floor = 0;
  /** The revision the feed has reached. */
  private revision = 0;
  private readonly subscribers = new Set<{ after: number; send: (f: FeedFrame) => void }>();
  private readonly onChange = new Set<() => void>();
  private watch: DispatchWatch | null = null;
  private closed = false;
  private started = false;
  private syncing: Promise<void> | null = null;

  private constructor(
    private readonly store: DispatchStore,
    private readonly log: Log,
    private readonly historySize: number,
  ) {}

  static async open(store: DispatchStore, log: Log, historySize = 10_000): Promise<DispatchView> {
    const v = new DispatchView(store, log, historySize);
    await v.sync();
    return v;
  }

  get cursor(): number {
    return this.revision;
  }

  activeIncidents(): Array<Versioned<Incident>> {
    return [...this.incidents.values()];
  }

  /** Whether an active incident satisfies `f` (without copying them all). */
  someIncident(f: (i: Incident) => boolean): boolean {
    for (const i of this.incidents.values()) if (f(i.value)) return true;
    return false;
  }

  allPatrols(): Array<Versioned<Patrol>> {
    return [...this.patrols.values()];
  }

  incident(id: string): Versioned<Incident> | undefined {
    return this.incidents.get(id);
  }

  patrol(id: string): Versioned<Patrol> | undefined {
    return this.patrols.get(id);
  }

  /** Calls `f` after every change (from the feed or a local commit), until the returned function is called. */
  listen(f: () => void): () => void {
    this.onChange.add(f);
    return () => this.onChange.delete(f);
  }

  /** Values this process read or committed: applied where newer than what the view holds. */
  learn(revision: number, incidents: Incident[], patrols: Patrol[]): void {
    for (const i of incidents) this.putIncident({ value: i, revision });
    for (const p of patrols) this.putPatrol({ value: p, revision });
    this.kick();
  }

  /** The feed from `cursor` (a revision as a decimal string; null: from a snapshot). */
  subscribe(cursor: number | null, send: (f: FeedFrame) => void): Subscription {
    const sub = { after: cursor ?? 0, send };
    if (cursor === null || cursor < this.floor) {
      sub.after = this.revision;
      send(this.snapshotFrame());
    } else for (const c of this.history) if (c.revision > cursor) send(frameOf(c));
    sub.after = Math.max(sub.after, this.revision);
    this.subscribers.add(sub);
    return { close: () => void this.subscribers.delete(sub) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    this.onChange.clear();
    await this.watch?.close();
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** Loads a snapshot and watches from it; on a reset, again (retrying while the store is unreachable). */
  private sync(): Promise<void> {
    this.syncing ??= (async () => {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          const snap = await this.store.snapshot();
          this.load(snap);
          this.watch = await this.store.watch(
            snap.revision,
            (c) => this.apply(c),
            (why) => this.reset(why),
          );
          this.started = true;
          return;
        } catch (e) {
          // At open, the caller learns at once that the store cannot be read; later, the view keeps trying.
          if (!this.started) throw e;
          this.log.warn(`dispatch view: cannot read the store (${(e as Error).message}); retrying`);
          await sleep(backoffDelay(DISPATCH_BACKOFF, attempt));
        }
      }
    })().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private load(snap: DispatchSnapshot): void {
    const first = !this.started;
    this.incidents.clear();
    this.patrols.clear();
    for (const i of snap.incidents) this.incidents.set(i.value.id, i);
    for (const p of snap.patrols) this.patrols.set(p.value.id, p);
    this.closedHere.clear();
    this.history.length = 0;
    this.revision = this.floor = snap.revision;
    if (!first) {
      // Changes may have been missed: every subscriber starts over from this snapshot.
      const frame = this.snapshotFrame();
      for (const s of this.subscribers) {
        s.after = snap.revision;
        this.deliver(s.send, frame);
      }
    }
    this.kick();
  }

  private reset(why: string): void {
    if (this.closed) return;
    this.log.warn(`dispatch view: the change feed starts over from a snapshot: ${why}`);
    this.watch = null;
    void this.sync().catch(() => {});
  }

  private apply(c: DispatchChange): void {
    if (c.revision <= this.revision) return;
    for (const i of c.incidents) this.putIncident(i);
    for (const p of c.patrols) this.putPatrol(p);
    for (const [id, rev] of this.closedHere) if (rev <= c.revision) this.closedHere.delete(id);
    this.revision = c.revision;
    this.history.push(c);
    if (this.history.length > this.historySize) this.floor = this.history.shift()!.revision;
    const frame = frameOf(c);
    for (const s of [...this.subscribers]) {
      if (c.revision <= s.after) continue;
      s.after = c.revision;
      this.deliver(s.send, frame);
    }
    this.kick();
  }

  private putIncident(v: Versioned<Incident>): void {
    const id = v.value.id;
    const known = Math.max(this.incidents.get(id)?.revision ?? 0, this.closedHere.get(id) ?? 0);
    if (v.revision <= known) return;
    if (isTerminal(v.value.state)) {
      this.incidents.delete(id);
      if (v.revision > this.revision) this.closedHere.set(id, v.revision);
    } else this.incidents.set(id, v);
  }

  private putPatrol(v: Versioned<Patrol>): void {
    if (v.revision > (this.patrols.get(v.value.id)?.revision ?? 0)) this.patrols.set(v.value.id, v);
  }

  private snapshotFrame(): FeedFrame {
    return {
      type: "snapshot",
      cursor: String(this.revision),
      incidents: [...this.incidents.values()].map((i) => i.value),
      patrols: [...this.patrols.values()].map((p) => p.value),
    };
  }

  /** A subscriber that throws is its own problem: the others still get the frame. */
  private deliver(send: (f: FeedFrame) => void, frame: FeedFrame): void {
    try {
      send(frame);
    } catch (e) {
      this.log.warn(`dispatch view: a feed subscriber failed: ${(e as Error).message}`);
    }
  }

  private kick(): void {
    for (const f of [...this.onChange]) f();
  }
}

function frameOf(c: DispatchChange): FeedFrame {
  return { type: "change", cursor: String(c.revision), incidents: c.incidents.map((i) => i.value), patrols: c.patrols.map((p) => p.value) };
}
