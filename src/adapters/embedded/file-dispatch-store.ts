import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IncidentEvent, IncidentState } from "../../domain/incident-event.ts";
import { isTerminal, type Incident } from "../../domain/incident.ts";
import type { Patrol } from "../../domain/patrol.ts";
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
import { Journal } from "./journal.ts";
import { ProcessLock } from "./process-lock.ts";

/** One journal record: a commit (with its revision) or the removal of published events. */
interface StoreRecord {
  revision?: number;
  incident?: Incident;
  patrols?: Patrol[];
  student?: { studentId: string; value: StudentIndex };
  outbox?: OutboxEntry[];
  acks?: string[];
}

/** The store's whole state, as kept in memory and written to `state.json` at compaction. */
class DispatchMemory {
  revision = 0;
  readonly active = new Map<string, Versioned<Incident>>();
  /** In closing order: the most recently closed last. */
  readonly closed = new Map<string, Versioned<Incident>>();
  readonly patrols = new Map<string, Versioned<Patrol>>();
  readonly students = new Map<string, Versioned<StudentIndex>>();
  /** In commit order, so each incident's events stay in seq order. */
  readonly outbox = new Map<string, OutboxEntry>();

  /** Whether every revision the commit names is the current one. */
  matches(c: DispatchCommit): boolean {
    if (c.incident) {
      const id = c.incident.value.id;
      if (c.incident.expect === 0 ? this.active.has(id) || this.closed.has(id) : this.active.get(id)?.revision !== c.incident.expect) return false;
    }
    for (const p of c.patrols ?? []) if ((this.patrols.get(p.value.id)?.revision ?? 0) !== p.expect) return false;
    if (c.student && (this.students.get(c.student.studentId)?.revision ?? 0) !== c.student.expect) return false;
    return true;
  }

  apply(r: StoreRecord): void {
    const rev = r.revision ?? this.revision;
    if (r.incident) {
      const v = { value: r.incident, revision: rev };
      if (isTerminal(r.incident.state)) {
        this.active.delete(r.incident.id);
        this.closed.set(r.incident.id, v);
      } else this.active.set(r.incident.id, v);
    }
    for (const p of r.patrols ?? []) this.patrols.set(p.id, { value: p, revision: rev });
    if (r.student) this.students.set(r.student.studentId, { value: r.student.value, revision: rev });
    for (const e of r.outbox ?? []) this.outbox.set(e.event.eventId, e);
    for (const id of r.acks ?? []) this.outbox.delete(id);
    this.revision = rev;
  }

  toJSON(generation: number): string {
    const values = <T>(m: Map<string, T>) => [...m.values()];
    return JSON.stringify({
      generation,
      revision: this.revision,
      active: values(this.active),
      closed: values(this.closed),
      patrols: values(this.patrols),
      students: [...this.students.entries()],
      outbox: values(this.outbox),
    });
  }

  static fromJSON(text: string): { memory: DispatchMemory; generation: number } {
    const s = JSON.parse(text);
    const m = new DispatchMemory();
    m.revision = s.revision;
    for (const v of s.active) m.active.set(v.value.id, v);
    for (const v of s.closed) m.closed.set(v.value.id, v);
    for (const v of s.patrols) m.patrols.set(v.value.id, v);
    for (const [k, v] of s.students) m.students.set(k, v);
    for (const e of s.outbox) m.outbox.set(e.event.eventId, e);
    return { memory: m, generation: s.generation };
  }
}

interface Watcher {
  onChange: (c: DispatchChange) => void;
  onReset: (why: string) => void;
}

export interface FileDispatchStoreOptions {
  /** The journal is folded into `state.json` once it holds this many bytes. Default 32 MiB. */
  compactBytes?: number;
  /** Changes kept for watches that resume from an older revision. Default 10,000. */
  historySize?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The dispatch store in the data dir, for one process (a lock file keeps others out): the state in
 * memory, every commit appended to a checksummed journal (the embedded log's `Journal`: group commit,
 * fsync before the promise resolves, a torn tail cut at open) and folded into `state.json` (write, fsync,
 * rename) when the journal grows. A commit is checked and applied in one synchronous step, so concurrent
 * callers in the process are serialised and each CAS sees the one before. A journal write that fails
 * makes the store refuse everything after (it may hold a change the disk does not): restart to replay.
 */
export class FileDispatchStore implements DispatchStore {
  readonly engine = "embedded";
  readonly clientId = `embedded-${crypto.randomUUID().slice(0, 8)}`;
  private readonly watchers = new Set<Watcher>();
  private readonly history: DispatchChange[] = [];
  /** Every change after this revision is in `history`. */
  private floor: number;
  private compacting: Promise<void> | null = null;
  private failed: Error | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private memory: DispatchMemory,
    private journal: Journal,
    private generation: number,
    private readonly lock: ProcessLock,
    private readonly options: Required<FileDispatchStoreOptions>,
  ) {
    this.floor = memory.revision;
  }

  static async open(dir: string, options: FileDispatchStoreOptions = {}): Promise<FileDispatchStore> {
    mkdirSync(dir, { recursive: true });
    const lock = ProcessLock.acquire(join(dir, "LOCK"), "the embedded dispatch store");
    try {
      const statePath = join(dir, "state.json");
      const { memory, generation } = existsSync(statePath)
        ? DispatchMemory.fromJSON(readFileSync(statePath, "utf8"))
        : { memory: new DispatchMemory(), generation: 0 };
      removeOtherJournals(dir, generation);
      const journal = await replayJournal(join(dir, journalName(generation)), memory);
      return new FileDispatchStore(dir, memory, journal, generation, lock, {
        compactBytes: options.compactBytes ?? 32 * 1024 * 1024,
        historySize: options.historySize ?? 10_000,
      });
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  async getIncident(id: string): Promise<Versioned<Incident> | null> {
    this.check();
    return this.memory.active.get(id) ?? this.memory.closed.get(id) ?? null;
  }

  async getPatrol(id: string): Promise<Versioned<Patrol> | null> {
    this.check();
    return this.memory.patrols.get(id) ?? null;
  }

  async getStudent(studentId: string): Promise<Versioned<StudentIndex> | null> {
    this.check();
    return this.memory.students.get(studentId) ?? null;
  }

  async snapshot(): Promise<DispatchSnapshot> {
    this.check();
    return { revision: this.memory.revision, incidents: [...this.memory.active.values()], patrols: [...this.memory.patrols.values()] };
  }

  async listClosed(limit: number, states?: readonly IncidentState[]): Promise<Array<Versioned<Incident>>> {
    this.check();
    const all = [...this.memory.closed.values()];
    const out: Array<Versioned<Incident>> = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) if (!states || states.includes(all[i]!.value.state)) out.push(all[i]!);
    return out;
  }

  async commit(c: DispatchCommit): Promise<CommitResult> {
    if (this.compacting) await this.compacting;
    this.check();
    checkCommit(c);
    if (!this.memory.matches(c)) return { ok: false };
    const revision = this.memory.revision + 1;
    const committedAt = Date.now();
    const record: StoreRecord = {
      revision,
      ...(c.incident ? { incident: c.incident.value } : {}),
      ...(c.patrols?.length ? { patrols: c.patrols.map((p) => p.value) } : {}),
      ...(c.student ? { student: { studentId: c.student.studentId, value: c.student.value } } : {}),
      ...(c.events?.length ? { outbox: c.events.map((event) => ({ event, owner: this.clientId, committedAt })) } : {}),
    };
    this.memory.apply(record);
    await this.append(record);
    this.announce({
      revision,
      incidents: c.incident ? [{ value: c.incident.value, revision }] : [],
      patrols: (c.patrols ?? []).map((p) => ({ value: p.value, revision })),
    });
    return { ok: true, revision };
  }

  async pendingEvents(limit: number): Promise<OutboxEntry[]> {
    this.check();
    const out: OutboxEntry[] = [];
    for (const e of this.memory.outbox.values()) {
      if (out.length >= limit) break;
      out.push(e);
    }
    return out;
  }

  async ackEvents(eventIds: string[]): Promise<void> {
    if (this.compacting) await this.compacting;
    this.check();
    const acks = eventIds.filter((id) => this.memory.outbox.has(id));
    if (acks.length === 0) return;
    const record = { acks };
    this.memory.apply(record);
    await this.append(record);
  }

  async watch(after: number, onChange: (c: DispatchChange) => void, onReset: (why: string) => void): Promise<DispatchWatch> {
    this.check();
    const w: Watcher = { onChange, onReset };
    if (after < this.floor) {
      queueMicrotask(() => onReset(`revision ${after} is older than the history kept (from ${this.floor})`));
      return { close: async () => {} };
    }
    for (const c of this.history) if (c.revision > after) onChange(c);
    this.watchers.add(w);
    return { close: async () => void this.watchers.delete(w) };
  }

  /** Open, and its journal still where it was opened. */
  async ping(): Promise<void> {
    if (this.closed) throw new Error("the dispatch store is closed");
    await this.journal.ping();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.compacting) await this.compacting.catch(() => {});
    this.closed = true;
    this.watchers.clear();
    await this.journal.close();
    this.lock.release();
  }

  // ---- internals -----------------------------------------------------------------------------------

  private async append(record: StoreRecord): Promise<void> {
    try {
      await this.journal.append([
        { kind: "message", topic: "dispatch", partition: 0, timestamp: Date.now(), key: "", value: enc.encode(JSON.stringify(record)) },
      ]);
    } catch (e) {
      this.failed = new Error(`embedded dispatch store in ${this.dir}: a journal write failed (${(e as Error).message}); restart to replay it`, { cause: e });
      throw this.failed;
    }
    if (this.journal.bytes > this.options.compactBytes && !this.compacting) {
      this.compacting = this.compact().finally(() => (this.compacting = null));
    }
  }

  private announce(c: DispatchChange): void {
    if (c.incidents.length === 0 && c.patrols.length === 0) return;
    this.history.push(c);
    if (this.history.length > this.options.historySize) this.floor = this.history.shift()!.revision;
    for (const w of [...this.watchers]) w.onChange(c);
  }

  /** Folds everything into state.json under the next generation, then starts that generation's journal. */
  private async compact(): Promise<void> {
    const next = this.generation + 1;
    const tmp = join(this.dir, "state.json.tmp");
    writeFileSync(tmp, this.memory.toJSON(next));
    const fd = openSync(tmp, "r");
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(this.dir, "state.json"));
    const old = this.journal;
    this.journal = await Journal.open(join(this.dir, journalName(next)), { message() {}, commit() {} });
    this.generation = next;
    await old.close();
    removeOtherJournals(this.dir, next);
  }

  private check(): void {
    if (this.closed) throw new Error("embedded dispatch store: closed");
    if (this.failed) throw this.failed;
  }
}

function journalName(generation: number): string {
  return `journal-${generation}.log`;
}

function removeOtherJournals(dir: string, generation: number): void {
  for (const f of readdirSync(dir)) if (/^journal-\d+\.log$/.test(f) && f !== journalName(generation)) unlinkSync(join(dir, f));
}

/** Opens the journal and applies its intact records to `memory` in order. */
async function replayJournal(path: string, memory: DispatchMemory): Promise<Journal> {
  const found: Array<[number, number]> = [];
  let live = false;
  const journal = await Journal.open(path, {
    message: (m) => {
      if (!live) found.push([m.valuePos, m.valueLen]);
    },
    commit() {},
  });
  live = true;
  for (const [pos, len] of found) {
    const r = JSON.parse(dec.decode(journal.read(pos, len))) as StoreRecord;
    // Records folded into state.json already (a crash between its rename and the journal's removal) are skipped.
    if (r.revision === undefined || r.revision > memory.revision) memory.apply(r);
  }
  return journal;
}

/** A commit names each value once and writes something. */
function checkCommit(c: DispatchCommit): void {
  const ids = (c.patrols ?? []).map((p) => p.value.id);
  if (new Set(ids).size !== ids.length) throw new Error(`dispatch commit: patrol named twice (${ids.join(", ")})`);
  if (!c.incident && ids.length === 0 && !c.student) throw new Error("dispatch commit: nothing to write");
  for (const e of c.events ?? []) checkEventOf(e, c.incident?.value);
}

function checkEventOf(e: IncidentEvent, incident: Incident | undefined): void {
  if (!incident || e.incidentId !== incident.id) throw new Error(`dispatch commit: event ${e.eventId} is not of the incident committed`);
}
