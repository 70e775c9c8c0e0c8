import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { silentLogger, type Logger } from "../../log.ts";
import {
  matchToken,
  newTokenRecord,
  newTokenSecret,
  parseTokenRecord,
  principalOf,
  TOKEN_ID_PATTERN,
  type Principal,
  type Scope,
  type TokenRecord,
} from "../../domain/token.ts";
import { tokenInfo, type TokenInfo, type TokenStore } from "../../ports/tokens.ts";
import { etcdClient, etcdMessage, type EtcdAuth } from "./client.ts";
import { cancelWatcher, connected, watchAgain } from "./watcher.ts";

export interface EtcdTokenOptions {
  endpoints: string[];
  /** The etcd user, when etcd has auth on; default none. */
  auth?: EtcdAuth | null;
  /** Key prefix; "/" is appended if missing. Default "/acu/tokens/". */
  prefix?: string;
  log?: Logger;
  /** Full re-read of the prefix, whatever the watch says. Default 5000 ms. */
  resyncMs?: number;
  /** With no successful read for this long, tokens from the store are refused (fail closed). Default 15000 ms. */
  staleAfterMs?: number;
  requestTimeoutMs?: number;
}

const DEFAULT_PREFIX = "/acu/tokens/";

/**
 * Tokens in etcd: `<prefix><id>` → JSON `{id, scope, label, createdAt, digest}` (SHA-256 digest, never the
 * secret). verify() runs on every request, so it answers from an in-memory copy fed by a watch on the prefix
 * (a change elsewhere arrives in milliseconds) and re-read whole every `resyncMs` (so an event lost around a
 * watch reconnect is repaired within 5 s). Bounded revocation: the copy is trusted only while etcd was read
 * successfully in the last `staleAfterMs` (15 s); past that, store tokens are refused until etcd answers
 * again — a revocation can never go unseen for longer than that. Static tokens from the environment keep
 * working meanwhile.
 */
export class EtcdTokenStore implements TokenStore {
  readonly engine = "etcd";
  readonly propagationMs: number;
  private readonly records = new Map<string, TokenRecord>();
  private revision = 0;
  private lastRead = 0;
  private watcher: Watcher | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  /** Aborted at close: ends the retries of a watch that failed. */
  private readonly closeSignal = new AbortController();
  private stale = false;

  private constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly staleAfterMs: number,
    resyncMs: number,
  ) {
    this.propagationMs = resyncMs;
  }

  static async open(opts: EtcdTokenOptions): Promise<EtcdTokenStore> {
    const { client, prefix } = etcdClient("etcd tokens", opts, DEFAULT_PREFIX);
    const resyncMs = opts.resyncMs ?? 5000;
    const store = new EtcdTokenStore(client, prefix, opts.log ?? silentLogger, opts.staleAfterMs ?? 15_000, resyncMs);
    try {
      await store.reload();
      await store.startWatch();
    } catch (e) {
      await store.close();
      throw new Error(`etcd tokens (${opts.endpoints.join(",")}, prefix ${prefix}): cannot open: ${etcdMessage(e)}`, { cause: e });
    }
    store.timer = setInterval(() => {
      store.reload().catch((e: unknown) => store.log.warn(`etcd tokens: re-read of ${prefix} failed: ${(e as Error).message}`));
    }, resyncMs);
    store.timer.unref?.();
    return store;
  }

  async create(scope: Scope, label = "", patrolId?: string): Promise<{ id: string; token: string }> {
    const token = newTokenSecret(scope);
    const rec = newTokenRecord(scope, label, patrolId, token);
    // Create only: an id collision (2^72 ids) must not overwrite another token.
    const res = await this.client
      .if(this.prefix + rec.id, "Create", "==", 0)
      .then(this.client.put(this.prefix + rec.id).value(JSON.stringify(rec)))
      .commit();
    if (!res.succeeded) throw new Error("etcd tokens: id collision; try again");
    this.apply(rec.id, rec, Number(res.header.revision));
    return { id: rec.id, token };
  }

  async revoke(id: string): Promise<boolean> {
    if (!TOKEN_ID_PATTERN.test(id)) return false;
    const res = await this.client
      .delete()
      .key(this.prefix + id)
      .exec();
    this.apply(id, null, Number(res.header.revision));
    return Number(res.deleted) > 0;
  }

  async list(): Promise<TokenInfo[]> {
    await this.reload();
    return [...this.records.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(tokenInfo);
  }

  verify(token: string): Principal | null {
    if (Date.now() - this.lastRead > this.staleAfterMs) {
      if (!this.stale) this.log.warn(`etcd tokens: no successful read of ${this.prefix} for ${this.staleAfterMs} ms; refusing store tokens until etcd answers`);
      this.stale = true;
      return null;
    }
    const r = matchToken(token, this.records.values());
    return r && principalOf(r);
  }

  /** A linearizable read of one key (etcd answers only with a quorum). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("etcd tokens: closed");
    await this.client.get(this.prefix).exists();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closeSignal.abort();
    if (this.timer) clearInterval(this.timer);
    const w = this.watcher;
    this.watcher = null;
    await cancelWatcher(w);
    this.client.close();
  }

  private async reload(): Promise<void> {
    const res = await this.client.getAll().prefix(this.prefix).exec();
    const revision = Number(res.header.revision);
    this.lastRead = Date.now();
    this.stale = false;
    if (revision < this.revision) return;
    this.records.clear();
    for (const kv of res.kvs) this.load(kv);
    this.revision = revision;
  }

  private load(kv: IKeyValue): void {
    const id = kv.key.toString().slice(this.prefix.length);
    let rec: TokenRecord | null = null;
    try {
      rec = parseTokenRecord(JSON.parse(kv.value.toString()));
    } catch {
      rec = null;
    }
    if (rec && rec.id === id) this.records.set(id, rec);
    else this.log.warn(`etcd tokens: ignoring ${kv.key.toString()}: not a token record`);
  }

  private apply(id: string, rec: TokenRecord | null, revision: number): void {
    if (revision < this.revision) return;
    if (rec) this.records.set(id, rec);
    else this.records.delete(id);
  }

  private async startWatch(): Promise<void> {
    const w = this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(this.revision + 1))
      .watcher();
    this.watcher = w;
    w.on("data", (res: IWatchResponse) => {
      if (this.closed || this.watcher !== w) return;
      for (const ev of res.events) {
        const rev = Number(ev.kv.mod_revision);
        if (rev < this.revision) continue;
        if (ev.type === "Put") this.load(ev.kv);
        else this.records.delete(ev.kv.key.toString().slice(this.prefix.length));
        this.revision = rev;
      }
    });
    w.on("error", (err) => {
      if (this.closed || this.watcher !== w) return;
      // Cancelled by etcd (compaction): the periodic re-read keeps the copy right; watch again from it.
      this.log.warn(`etcd tokens: watch failed (${err.message}); watching again`);
      this.watcher = null;
      void w.cancel().catch(() => {});
      watchAgain(() => this.reload().then(() => this.startWatch()), this.closeSignal.signal, this.log, "etcd tokens");
    });
    await connected(w);
  }
}
