import { type Etcd3, Range, type ICompare, type IKeyValue, type IRangeRequest, type IRequestOp, type IWatchResponse, type Watcher } from "etcd3";
import { etcdClient, etcdMessage, type EtcdAuth } from "./client.ts";
import type { IncidentState } from "../../domain/incident-event.ts";
import { isTerminal, type Incident } from "../../domain/incident.ts";
import type { Patrol } from "../../domain/patrol.ts";
import { silentLogger, type Logger } from "../../log.ts";
import type {
  CommitResult,
  DispatchChange,
  DispatchCommit,
  DispatchSnapshot,
  DispatchStore,
  DispatchWatch,
  OutboxEntry,
  StudentIndex,
  Versioned,
} from "../../ports/dispatch-store.ts";
import { cancelWatcher } from "./watcher.ts";

export interface EtcdDispatchStoreOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** The etcd user, when etcd has auth on; default none. */
  auth?: EtcdAuth | null;
  /** Key prefix of the store; "/" is appended if missing. Default "/acu/dispatch/". */
  prefix?: string;
  log?: Logger;
  /** Deadline of each etcd request. Default 5000 ms. */
  requestTimeoutMs?: number;
}

const DEFAULT_PREFIX = "/acu/dispatch/";
/** Keys per range request: a page stays far below gRPC's message limit. */
const PAGE = 500;
/** etcd refuses transactions of more than 128 operations by default. */
const MAX_TXN_OPS = 128;

/**
 * The dispatch store in etcd. Keys under the prefix:
 *
 *   state/incidents/active/<id>   an incident not yet resolved nor cancelled (JSON)
 *   state/incidents/closed/<id>   a resolved or cancelled one (closing moves it, in the closing transaction)
 *   state/patrols/<id>            a patrol
 *   students/<studentId>          the student's open and last incident ids
 *   outbox/<incidentId>/<seq>     an event not yet published, with its owner and commit time
 *
 * A value's revision is its key's mod revision. A commit is one transaction: a mod-revision compare for every
 * value it names (0: the key must not exist; a new incident must exist under neither state), and on success
 * every put, delete and outbox entry. Active incidents and patrols are small sets, read whole at one
 * revision (paged); the change feed is one watch on `state/`. Ids are URI-encoded in keys.
 */
export class EtcdDispatchStore implements DispatchStore {
  readonly engine = "etcd";
  readonly clientId = `etcd-${crypto.randomUUID().slice(0, 8)}`;
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  private constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly endpoints: string[],
    private readonly log: Logger,
  ) {}

  static async open(o: EtcdDispatchStoreOptions): Promise<EtcdDispatchStore> {
    const { client, prefix } = etcdClient("etcd dispatch store", o, DEFAULT_PREFIX);
    const store = new EtcdDispatchStore(client, prefix, o.endpoints, o.log ?? silentLogger);
    try {
      await client.kv.range({ key: Buffer.from(prefix), limit: 1, keys_only: true });
    } catch (e) {
      client.close();
      throw store.failure("cannot open the dispatch store", e);
    }
    return store;
  }

  // ---- keys ------------------------------------------------------------------------------------------

  private key(...parts: string[]): Buffer {
    return Buffer.from(this.prefix + parts.join("/"));
  }
  private active = (id: string) => this.key("state/incidents/active", encodeURIComponent(id));
  private closedKey = (id: string) => this.key("state/incidents/closed", encodeURIComponent(id));
  private patrolKey = (id: string) => this.key("state/patrols", encodeURIComponent(id));
  private studentKey = (id: string) => this.key("students", encodeURIComponent(id));
  private outboxKey(eventId: string): Buffer {
    const i = eventId.lastIndexOf(":");
    return this.key("outbox", encodeURIComponent(eventId.slice(0, i)), eventId.slice(i + 1).padStart(10, "0"));
  }

  // ---- reads -----------------------------------------------------------------------------------------

  async getIncident(id: string): Promise<Versioned<Incident> | null> {
    const res = await this.call("read an incident", () =>
      this.client.kv.txn({ compare: [], success: [{ request_range: { key: this.active(id) } }, { request_range: { key: this.closedKey(id) } }], failure: [] }),
    );
    const kv = res.responses[0]!.response_range.kvs[0] ?? res.responses[1]!.response_range.kvs[0];
    return kv ? this.versioned<Incident>(kv) : null;
  }

  async getPatrol(id: string): Promise<Versioned<Patrol> | null> {
    return this.getOne<Patrol>(this.patrolKey(id), "read a patrol");
  }

  async getStudent(studentId: string): Promise<Versioned<StudentIndex> | null> {
    return this.getOne<StudentIndex>(this.studentKey(studentId), "read a student's index");
  }

  async snapshot(): Promise<DispatchSnapshot> {
    const incidents = await this.rangeAll("state/incidents/active/");
    const patrols = await this.rangeAll("state/patrols/", incidents.revision);
    return { revision: incidents.revision, incidents: this.parseAll<Incident>(incidents.kvs), patrols: this.parseAll<Patrol>(patrols.kvs) };
  }

  async listClosed(limit: number, states?: readonly IncidentState[]): Promise<Array<Versioned<Incident>>> {
    const r = Range.prefix(this.key("state/incidents/closed/"));
    const out: Array<Versioned<Incident>> = [];
    let below = 0;
    for (;;) {
      const req: IRangeRequest = {
        key: r.start,
        range_end: r.end,
        limit: PAGE,
        sort_target: "Mod",
        sort_order: "Descend",
        ...(below > 0 ? { max_mod_revision: below - 1 } : {}),
      };
      const res = await this.call("list closed incidents", () => this.client.kv.range(req));
      for (const v of this.parseAll<Incident>(res.kvs)) if (!states || states.includes(v.value.state)) if (out.push(v) >= limit) return out;
      if (!res.more || res.kvs.length === 0) return out;
      below = Number(res.kvs[res.kvs.length - 1]!.mod_revision);
    }
  }

  async pendingEvents(limit: number): Promise<OutboxEntry[]> {
    const r = Range.prefix(this.key("outbox/"));
    // By mod revision: commit order, so each incident's events come in seq order.
    const res = await this.call("read the outbox", () =>
      this.client.kv.range({ key: r.start, range_end: r.end, limit, sort_target: "Mod", sort_order: "Ascend" }),
    );
    return this.parseAll<OutboxEntry>(res.kvs).map((v) => v.value);
  }

  // ---- writes ----------------------------------------------------------------------------------------

  async commit(c: DispatchCommit): Promise<CommitResult> {
    const compare: ICompare[] = [];
    const success: IRequestOp[] = [];
    const expect = (key: Buffer, revision: number) => compare.push({ key, target: "Mod", result: "Equal", mod_revision: revision });
    const put = (key: Buffer, value: unknown) => success.push({ request_put: { key, value: Buffer.from(JSON.stringify(value)) } });
    if (c.incident) {
      const inc = c.incident.value;
      expect(this.active(inc.id), c.incident.expect);
      if (c.incident.expect === 0) expect(this.closedKey(inc.id), 0);
      if (isTerminal(inc.state)) {
        success.push({ request_delete_range: { key: this.active(inc.id) } });
        put(this.closedKey(inc.id), inc);
      } else put(this.active(inc.id), inc);
    }
    for (const p of c.patrols ?? []) {
      expect(this.patrolKey(p.value.id), p.expect);
      put(this.patrolKey(p.value.id), p.value);
    }
    if (c.student) {
      expect(this.studentKey(c.student.studentId), c.student.expect);
      put(this.studentKey(c.student.studentId), c.student.value);
    }
    const committedAt = Date.now();
    for (const event of c.events ?? []) put(this.outboxKey(event.eventId), { event, owner: this.clientId, committedAt } satisfies OutboxEntry);
    if (success.length === 0) throw new Error("dispatch commit: nothing to write");
    if (success.length > MAX_TXN_OPS)
      throw new Error(`dispatch commit: ${success.length} operations, more than etcd takes in one transaction (${MAX_TXN_OPS})`);
    const res = await this.call("commit", () => this.client.kv.txn({ compare, success, failure: [] }));
    return res.succeeded ? { ok: true, revision: Number(res.header.revision) } : { ok: false };
  }

  async ackEvents(eventIds: string[]): Promise<void> {
    for (let i = 0; i < eventIds.length; i += MAX_TXN_OPS) {
      const success = eventIds.slice(i, i + MAX_TXN_OPS).map((id) => ({ request_delete_range: { key: this.outboxKey(id) } }));
      await this.call("acknowledge published events", () => this.client.kv.txn({ compare: [], success, failure: [] }));
    }
  }

  // ---- the change feed -------------------------------------------------------------------------------

  async watch(after: number, onChange: (c: DispatchChange) => void, onReset: (why: string) => void): Promise<DispatchWatch> {
    this.checkOpen();
    const w = this.client
      .watch()
      .prefix(this.key("state/").toString())
      .startRevision(String(after + 1))
      .watcher();
    this.watchers.add(w);
    let ended = false;
    const end = (why: string) => {
      if (ended || this.closed) return;
      ended = true;
      this.watchers.delete(w);
      void cancelWatcher(w);
      onReset(why);
    };
    w.on("data", (res: IWatchResponse) => {
      if (!ended) for (const c of this.changesOf(res)) onChange(c);
    });
    // Events around a reconnect may be lost: the caller starts over from a snapshot.
    w.on("disconnected", (err: Error) => end(`the watch was disconnected (${err.message})`));
    w.on("error", (err: Error) => end(`the watch failed (${err.message})`));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.failure("watch", new Error("the watch did not start within 10 s"))), 10_000);
      w.once("connected", () => {
        clearTimeout(timer);
        resolve();
      });
    }).catch(async (e) => {
      ended = true;
      this.watchers.delete(w);
      await cancelWatcher(w);
      throw e;
    });
    return {
      close: async () => {
        ended = true;
        this.watchers.delete(w);
        await cancelWatcher(w);
      },
    };
  }

  /** One change per revision (a transaction's events share it); deletes are closings, whose put comes with them. */
  private changesOf(res: IWatchResponse): DispatchChange[] {
    const out: DispatchChange[] = [];
    const incidents = this.key("state/incidents/").toString();
    const patrols = this.key("state/patrols/").toString();
    for (const ev of res.events) {
      if (ev.type !== "Put") continue;
      const revision = Number(ev.kv.mod_revision);
      let c = out[out.length - 1];
      if (!c || c.revision !== revision) {
        c = { revision, incidents: [], patrols: [] };
        out.push(c);
      }
      const key = ev.kv.key.toString();
      const v = this.versioned<Incident & Patrol>(ev.kv);
      if (!v) continue;
      if (key.startsWith(incidents)) c.incidents.push(v);
      else if (key.startsWith(patrols)) c.patrols.push(v);
    }
    return out.filter((c) => c.incidents.length + c.patrols.length > 0);
  }

  /** One linearizable read of the prefix's head: etcd answers only with a quorum. */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the etcd dispatch store is closed");
    try {
      await this.client.kv.range({ key: Buffer.from(this.prefix), limit: 1, keys_only: true });
    } catch (e) {
      throw this.failure("cannot read the dispatch store", e);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watchers].map((w) => cancelWatcher(w)));
    this.watchers.clear();
    this.client.close();
  }

  // ---- internals -------------------------------------------------------------------------------------

  private async getOne<T>(key: Buffer, what: string): Promise<Versioned<T> | null> {
    const res = await this.call(what, () => this.client.kv.range({ key }));
    const kv = res.kvs[0];
    return kv ? this.versioned<T>(kv) : null;
  }

  /** Every key under `sub`, paged, all at one revision (the first page's, unless given). */
  private async rangeAll(sub: string, at?: number): Promise<{ kvs: IKeyValue[]; revision: number }> {
    const r = Range.prefix(this.key(sub));
    const kvs: IKeyValue[] = [];
    let start = r.start;
    let revision = at ?? 0;
    for (;;) {
      const from = start;
      const res = await this.call(`read ${sub}`, () =>
        this.client.kv.range({ key: from, range_end: r.end, limit: PAGE, ...(revision > 0 ? { revision } : {}) }),
      );
      if (revision === 0) revision = Number(res.header.revision);
      kvs.push(...res.kvs);
      if (!res.more || res.kvs.length === 0) return { kvs, revision };
      start = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }

  private parseAll<T>(kvs: IKeyValue[]): Array<Versioned<T>> {
    const out: Array<Versioned<T>> = [];
    for (const kv of kvs) {
      const v = this.versioned<T>(kv);
      if (v) out.push(v);
    }
    return out;
  }

  /** The value of a key with its mod revision; a value that is not JSON (written by hand) is skipped with a warning. */
  private versioned<T>(kv: IKeyValue): Versioned<T> | null {
    try {
      return { value: JSON.parse(kv.value.toString()) as T, revision: Number(kv.mod_revision) };
    } catch {
      this.log.warn(`etcd dispatch store: ignoring ${kv.key.toString()}: not JSON`);
      return null;
    }
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    this.checkOpen();
    try {
      return await f();
    } catch (e) {
      throw this.failure(`cannot ${what}`, e);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("etcd dispatch store: the store is closed");
  }

  private failure(what: string, e: unknown): Error {
    const msg = etcdMessage(e);
    return new Error(`etcd dispatch store (${this.endpoints.join(",")}, prefix ${this.prefix}): ${what}: ${msg}`, { cause: e });
  }
}
