import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { matchToken, newTokenRecord, newTokenSecret, parseTokenRecord, principalOf, type Principal, type Scope, type TokenRecord } from "../../domain/token.ts";
import { tokenInfo, type TokenInfo, type TokenStore } from "../../ports/tokens.ts";

/** How often the file is checked for changes made by another process (`acu token …` beside a server). */
const POLL_MS = 250;
/** A lock older than this was left by a process that died mid-write. */
const STALE_LOCK_MS = 10_000;

/**
 * Tokens in one JSON file in the data dir (`tokens.json`: digests only), replaced atomically (write, fsync,
 * rename). Unlike the other embedded engines it is shared: `acu token create|revoke` runs as a second
 * process beside the server, so every change re-reads the file under a lock file and every open store polls
 * the file's identity (inode, size, mtime) every 250 ms — a revocation applies within 1 s (`propagationMs`).
 */
export class FileTokenStore implements TokenStore {
  readonly engine = "embedded";
  readonly propagationMs = 1000;
  private records: TokenRecord[] = [];
  private seen = "";
  private closed = false;
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(private readonly path: string) {
    this.reload();
    this.timer = setInterval(() => {
      try {
        this.reload();
      } catch {
        // A half-visible state cannot happen (rename is atomic); a read error is retried at the next tick.
      }
    }, POLL_MS);
    // The poll must not keep a CLI process alive.
    this.timer.unref?.();
  }

  static open(path: string): FileTokenStore {
    mkdirSync(dirname(path), { recursive: true });
    return new FileTokenStore(path);
  }

  async create(scope: Scope, label = "", patrolId?: string): Promise<{ id: string; token: string }> {
    const token = newTokenSecret(scope);
    const rec = newTokenRecord(scope, label, patrolId, token);
    this.change((rs) => [...rs, rec]);
    return { id: rec.id, token };
  }

  async revoke(id: string): Promise<boolean> {
    let found = false;
    this.change((rs) => {
      found = rs.some((r) => r.id === id);
      return rs.filter((r) => r.id !== id);
    });
    return found;
  }

  async list(): Promise<TokenInfo[]> {
    this.reload();
    return this.records.map(tokenInfo);
  }

  verify(token: string): Principal | null {
    const r = matchToken(token, this.records);
    return r && principalOf(r);
  }

  /** Open, and its folder there (the file itself appears with the first token). */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the embedded token store is closed");
    await stat(dirname(this.path));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** Re-reads the file when it is not the one last read. */
  private reload(): void {
    let id: string;
    try {
      const st = statSync(this.path);
      id = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      id = "absent";
    }
    if (id === this.seen) return;
    this.records = this.read();
    this.seen = id;
  }

  private read(): TokenRecord[] {
    if (!existsSync(this.path)) return [];
    const raw = JSON.parse(readFileSync(this.path, "utf8")) as { tokens?: unknown[] };
    return (raw.tokens ?? []).map(parseTokenRecord).filter((r): r is TokenRecord => r !== null);
  }

  /** Read-modify-write of the file under a lock, so two processes cannot lose each other's change. */
  private change(f: (rs: TokenRecord[]) => TokenRecord[]): void {
    const lock = `${this.path}.lock`;
    this.acquire(lock);
    try {
      const next = f(this.read());
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ tokens: next }, null, 1), { mode: 0o600 });
      const fd = openSync(tmp, "r");
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, this.path);
      this.records = next;
      this.seen = "";
      this.reload();
    } finally {
      unlinkSync(lock);
    }
  }

  private acquire(lock: string): void {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        closeSync(openSync(lock, "wx"));
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock);
      } catch {
        // Released meanwhile.
      }
      if (Date.now() > deadline) throw new Error(`token store: ${lock} is held by another process; remove it if no acu is writing tokens`);
      Bun.sleepSync(10);
    }
  }
}
