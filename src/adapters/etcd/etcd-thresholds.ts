import { Range, type Etcd3, type IKeyValue, type IRequestOp, type IWatchResponse, type Watcher } from "etcd3";
import { silentLogger, type Logger } from "../../log.ts";
import { EXERCISE_ID_PATTERN, validateThreshold, type ThresholdSnapshot } from "../../domain/threshold.ts";
import type { ThresholdStore } from "../../ports/thresholds.ts";
import { Coalescer } from "../../coalescer.ts";
import { deadline } from "../../retry.ts";
import { etcdClient, etcdMessage, type EtcdAuth } from "./client.ts";
import { cancelWatcher, connected, watchAgain } from "./watcher.ts";

export interface EtcdThresholdOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** The etcd user, when etcd has auth on; default none. */
  auth?: EtcdAuth | null;
  /** Key prefix of the store; "/" is appended if missing. Default "/acu/thresholds/". */
  prefix?: string;
  /** Written to `<prefix>default` if that key does not exist yet, and used while it holds no valid value. */
  defaultThreshold: number;
  /** Warnings (ignored values, watch trouble). Default: none (silentLogger). */
  log?: Logger;
  /** How long current() waits for the watch to catch up before re-reading the prefix. Default 50 ms. */
  catchUpMs?: number;
  /** Deadline of each etcd request, its client's retries included. Default 5000 ms. */
  requestTimeoutMs?: number;
}

interface Entry {
  value: string;
  modRevision: number;
}

/** What a linearizable read says about the prefix now. */
interface Probe {
  /** etcd's revision at the read. */
  revision: number;
  /** Keys under the prefix. */
  count: number;
  /** Highest mod revision of those keys (0 if none). */
  maxModRevision: number;
}

const DEFAULT_PREFIX = "/acu/thresholds/";

/**
 * Thresholds in etcd: `<prefix>exercises/<exerciseId>` → whole percent as a decimal string, `<prefix>default`
 * → the default. A watch on the prefix keeps an in-memory copy and the etcd revision it reflects.
 *
 * `current()` sees every write acknowledged before it, by any client: it makes one linearizable read of the
 * prefix (keys only, one key: the count of keys and the highest mod revision come back, with etcd's revision)
 * and uses the copy if that proves it up to date; otherwise it waits briefly for the watch, then re-reads
 * the prefix. The copy is up to date for a read at revision H when it reflects H itself, or when no key under
 * the prefix was changed after the copy's revision (highest mod revision ≤ copy's revision) and none was
 * deleted (same count): then the keys at H are exactly the copy's keys. etcd's revision grows with writes to
 * any key, so revisions are compared, never counted.
 *
 * Values written by others (etcdctl) that are not a whole number 0..100 are ignored with a warning.
 */
export class EtcdThresholdStore implements ThresholdStore {
  readonly engine = "etcd";
  /** How current() got its answer: the copy was proven fresh at once, after waiting for the watch, or by re-reading the prefix. */
  readonly stats = { fresh: 0, caughtUp: 0, reloaded: 0 };
  private readonly defaultKey: string;
  private readonly exercisesPrefix: string;
  private readonly kvs = new Map<string, Entry>();
  /** The copy reflects the prefix as of this etcd revision. */
  private revision = 0;
  private snap: ThresholdSnapshot | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly warned = new Set<string>();
  private watcher: Watcher | null = null;
  /** The watch was disconnected (or failed) since the copy was last read whole: events may be missing. */
  private suspect = false;
  /** Counts disconnects: a re-read clears `suspect` only if it began after the last one. */
  private disconnects = 0;
  private closed = false;
  /** Aborted at close: ends the retries of a watch that failed. */
  private readonly closeSignal = new AbortController();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly fallbackDefault: number,
    private readonly endpoints: string[],
    private readonly log: Logger,
    private readonly catchUpMs: number,
    private readonly timeoutMs: number,
  ) {
    this.defaultKey = `${prefix}default`;
    this.exercisesPrefix = `${prefix}exercises/`;
  }

  static async open(opts: EtcdThresholdOptions): Promise<EtcdThresholdStore> {
    const v = validateThreshold(opts.defaultThreshold);
    if (!v.ok) throw new Error(`etcd thresholds: default threshold ${opts.defaultThreshold}: ${v.message}`);
    const { client, prefix, timeoutMs } = etcdClient("etcd thresholds", opts, DEFAULT_PREFIX);
    const store = new EtcdThresholdStore(client, prefix, opts.defaultThreshold, opts.endpoints, opts.log ?? silentLogger, opts.catchUpMs ?? 50, timeoutMs);
    try {
      // The whole prefix; only when the default is missing, put-if-absent of it and the prefix in one
      // transaction. Read first: a user that may only read (the alert role's, on etcd with auth) opens
      // the store once the default exists, as etcd checks every operation of a transaction, run or not.
      const read = await client.getAll().prefix(prefix).exec();
      if (read.kvs.some((kv) => kv.key.toString() === store.defaultKey)) store.load(read.kvs, Number(read.header.revision));
      else {
        const res = await client
          .if(store.defaultKey, "Create", "==", 0)
          .then(client.put(store.defaultKey).value(String(opts.defaultThreshold)), client.getAll().prefix(prefix))
          .else(client.getAll().prefix(prefix))
          .commit();
        const range = res.responses[res.responses.length - 1]!.response_range;
        store.load(range.kvs, Number(res.header.revision));
      }
      await store.startWatch();
      return store;
    } catch (e) {
      store.closed = true;
      await store.watcher?.cancel().catch(() => {});
      client.close();
      throw store.failure("cannot open the threshold store", e);
    }
  }

  /**
   * Concurrent callers (the alert role's partitions, handled together) share one read, but only a read
   * that begins after they asked: a read already under way may have been served by etcd before a write
   * the caller saw acknowledged, so joining it could miss that write. The shared read begins on the next
   * turn of the event loop; whoever asks until then joins it, later callers get the next one.
   */
  current(): Promise<ThresholdSnapshot> {
    try {
      this.checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.reads.add(null);
  }

  /** The callers of current() waiting for the next read (a batch reads once for all of them). */
  private readonly reads = new Coalescer<null, ThresholdSnapshot>(() => this.readCurrent(), { begin: "turn" });

  private async readCurrent(): Promise<ThresholdSnapshot> {
    this.checkOpen();
    let p: Probe;
    try {
      p = await this.probe();
    } catch (e) {
      throw this.failure("cannot read the thresholds", e);
    }
    if (this.upToDate(p)) this.stats.fresh++;
    else {
      await this.waitUntil(() => this.upToDate(p), this.catchUpMs);
      if (this.upToDate(p)) this.stats.caughtUp++;
      else {
        await this.reload();
        this.stats.reloaded++;
      }
    }
    if (this.revision < p.revision) this.revision = p.revision; // proven: nothing under the prefix changed in between
    return this.snapshot();
  }

  /** The watched copy as it is: no read of etcd (it may trail another client's write by the watch's delay). */
  view(): ThresholdSnapshot {
    this.checkOpen();
    return this.snapshot();
  }

  set(exerciseId: string, threshold: number): Promise<ThresholdSnapshot> {
    if (!EXERCISE_ID_PATTERN.test(exerciseId)) return Promise.reject(new Error(`invalid exercise id ${JSON.stringify(exerciseId)}`));
    const v = validateThreshold(threshold);
    if (!v.ok) return Promise.reject(new Error(v.message));
    return this.write(
      this.client
        .put(this.exercisesPrefix + exerciseId)
        .value(String(threshold))
        .op(),
      `set ${exerciseId}`,
    );
  }

  remove(exerciseId: string): Promise<ThresholdSnapshot> {
    if (!EXERCISE_ID_PATTERN.test(exerciseId)) return Promise.reject(new Error(`invalid exercise id ${JSON.stringify(exerciseId)}`));
    return this.write(
      this.client
        .delete()
        .key(this.exercisesPrefix + exerciseId)
        .op(),
      `remove ${exerciseId}`,
    );
  }

  setDefault(threshold: number): Promise<ThresholdSnapshot> {
    const v = validateThreshold(threshold);
    if (!v.ok) return Promise.reject(new Error(v.message));
    return this.write(this.client.put(this.defaultKey).value(String(threshold)).op(), "set the default");
  }

  /** One linearizable read of the prefix's head: etcd answers only with a quorum. */
  async ping(): Promise<void> {
    this.checkOpen();
    try {
      await this.probe();
    } catch (e) {
      throw this.failure("cannot read the thresholds", e);
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.closeSignal.abort();
      for (const w of this.waiters) w();
      const watcher = this.watcher;
      this.watcher = null;
      await cancelWatcher(watcher);
      this.client.close();
    })();
    return this.closing;
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** The write and a read of the whole prefix in one transaction: the result is the store exactly as of the write. */
  private async write(op: Promise<IRequestOp>, what: string): Promise<ThresholdSnapshot> {
    this.checkOpen();
    try {
      const res = await this.bounded(
        this.client.kv.txn({ compare: [], success: [await op, await this.client.getAll().prefix(this.prefix).op()], failure: [] }),
      );
      const revision = Number(res.header.revision);
      const kvs = res.responses[1]!.response_range.kvs;
      this.load(kvs, revision);
      return this.snapshotOf(entriesOf(kvs), revision);
    } catch (e) {
      throw this.failure(`cannot ${what}`, e);
    }
  }

  /**
   * A request within its deadline, the client's retries included: without a quorum each attempt waits out
   * its own deadline, and the API's callers (a PUT, the alert role's batch) must hear no in that time.
   */
  private bounded<T>(p: Promise<T>): Promise<T> {
    return deadline(p, this.timeoutMs, `etcd did not answer within ${this.timeoutMs} ms (no quorum, or unreachable)`);
  }

  /** One linearizable range read: etcd's revision, the count of keys and the highest mod revision under the prefix. */
  private async probe(): Promise<Probe> {
    const r = Range.prefix(this.prefix);
    const res = await this.bounded(
      this.client.kv.range({
        key: r.start,
        range_end: r.end,
        limit: 1,
        sort_target: "Mod",
        sort_order: "Descend",
        keys_only: true,
        serializable: false,
      }),
    );
    return { revision: Number(res.header.revision), count: Number(res.count), maxModRevision: res.kvs.length > 0 ? Number(res.kvs[0]!.mod_revision) : 0 };
  }

  private upToDate(p: Probe): boolean {
    if (this.suspect) return false;
    return this.revision >= p.revision || (p.maxModRevision <= this.revision && p.count === this.kvs.size);
  }

  /** Reads the whole prefix (linearizable) and replaces the copy if that read is newer. */
  private async reload(): Promise<void> {
    const epoch = this.disconnects;
    let res;
    try {
      res = await this.bounded(this.client.getAll().prefix(this.prefix).exec());
    } catch (e) {
      throw this.failure("cannot read the thresholds", e);
    }
    if (epoch === this.disconnects) this.suspect = false;
    this.load(res.kvs, Number(res.header.revision));
  }

  private load(kvs: IKeyValue[], revision: number): void {
    if (revision < this.revision) return;
    this.kvs.clear();
    for (const [k, e] of entriesOf(kvs)) this.kvs.set(k, e);
    this.revision = revision;
    this.changed();
  }

  private async startWatch(): Promise<void> {
    const w = this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(this.revision + 1))
      .watcher();
    this.watcher = w;
    w.on("data", (res: IWatchResponse) => this.onEvents(w, res));
    w.on("disconnected", (err) => {
      if (this.closed || this.watcher !== w) return;
      // The watch resumes by itself; events may be lost around the reconnect, so read the prefix whole after it.
      this.distrust(`watch disconnected (${err.message}); re-reading ${this.prefix} when it reconnects`);
    });
    w.on("connected", () => {
      if (this.closed || this.watcher !== w || !this.suspect) return;
      this.reload().catch((e: unknown) => this.log.info(`etcd thresholds: ${(e as Error).message}`));
    });
    w.on("error", (err) => {
      if (this.closed || this.watcher !== w) return;
      // The watch was cancelled by etcd (e.g. its start revision was compacted): read the prefix and watch anew.
      this.distrust(`watch failed (${err.message}); re-reading ${this.prefix} and watching again`);
      this.watcher = null;
      void w.cancel().catch(() => {});
      watchAgain(() => this.reload().then(() => this.startWatch()), this.closeSignal.signal, this.log, "etcd thresholds");
    });
    await connected(w);
  }

  /** Events may have been missed: the copy is not trusted until the prefix is read whole again. */
  private distrust(why: string): void {
    this.suspect = true;
    this.disconnects++;
    this.log.warn(`etcd thresholds: ${why}`);
  }

  private onEvents(w: Watcher, res: IWatchResponse): void {
    if (this.watcher !== w || this.closed) return;
    let touched = false;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      // Older than the copy: already in it. Equal: idempotent (a transaction's events share one revision).
      if (rev < this.revision) continue;
      const key = ev.kv.key.toString();
      if (ev.type === "Put") this.kvs.set(key, { value: ev.kv.value.toString(), modRevision: rev });
      else this.kvs.delete(key);
      this.revision = rev;
      touched = true;
    }
    if (touched) this.changed();
  }

  private changed(): void {
    this.snap = null;
    for (const w of [...this.waiters]) w();
  }

  private waitUntil(ok: () => boolean, ms: number): Promise<void> {
    if (ok() || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (ok() || this.closed) done();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(check);
    });
  }

  private snapshot(): ThresholdSnapshot {
    const s = (this.snap ??= this.snapshotOf(this.kvs, this.revision));
    return s.revision === this.revision ? s : { ...s, revision: this.revision };
  }

  private snapshotOf(kvs: Iterable<[string, Entry]>, revision: number): ThresholdSnapshot {
    let defaultThreshold = this.fallbackDefault;
    // No prototype: an exercise may be called "__proto__" or "constructor".
    const thresholds: Record<string, number> = Object.create(null);
    for (const [key, e] of kvs) {
      if (key === this.defaultKey) {
        const v = parseThreshold(e.value);
        if (v === null) this.warn(key, e, `not a whole percent 0..100; the default stays ${this.fallbackDefault}`);
        else defaultThreshold = v;
      } else if (key.startsWith(this.exercisesPrefix)) {
        const id = key.slice(this.exercisesPrefix.length);
        if (!EXERCISE_ID_PATTERN.test(id)) {
          this.warn(key, e, "not a valid exercise id");
          continue;
        }
        const v = parseThreshold(e.value);
        if (v === null) this.warn(key, e, "not a whole percent 0..100");
        else thresholds[id] = v;
      } else this.warn(key, e, "unknown key");
    }
    return { defaultThreshold, thresholds, revision };
  }

  /** Once per key and revision: the copy is rebuilt often. */
  private warn(key: string, e: Entry, why: string): void {
    const id = `${key}@${e.modRevision}`;
    if (this.warned.has(id)) return;
    if (this.warned.size > 1000) this.warned.clear();
    this.warned.add(id);
    this.log.warn(`etcd thresholds: ignoring ${key} = ${JSON.stringify(e.value.slice(0, 64))} (revision ${e.modRevision}): ${why}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("etcd thresholds: the store is closed");
  }

  private failure(what: string, e: unknown): Error {
    const msg = etcdMessage(e);
    return new Error(`etcd thresholds (${this.endpoints.join(",")}, prefix ${this.prefix}): ${what}: ${msg}`, { cause: e });
  }
}

function entriesOf(kvs: IKeyValue[]): Array<[string, Entry]> {
  return kvs.map((kv) => [kv.key.toString(), { value: kv.value.toString(), modRevision: Number(kv.mod_revision) }]);
}

/** A whole number 0..100 written as decimal digits (surrounding blanks allowed), else null. */
export function parseThreshold(raw: string): number | null {
  const s = raw.trim();
  if (!/^\d{1,3}$/.test(s)) return null;
  const n = Number(s);
  return n <= 100 ? n : null;
}
