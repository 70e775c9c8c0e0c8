import { isHiddenName, type Lake, type LakeFile } from "../../ports/lake.ts";
import { retry, type Backoff } from "../../retry.ts";

const TMP_SUFFIX = ".inprogress";

export interface WebHdfsLakeOptions {
  /** NameNode HTTP address, e.g. http://127.0.0.1:19870 (ACU_HDFS_URL). */
  url: string;
  /** Absolute HDFS folder that holds the lake; default /acu/lake. Created by open(). */
  root?: string;
  /** NameNode RPC address for uri(), e.g. hdfs://127.0.0.1:19000 (ACU_HDFS_NAMENODE); else webhdfs:// URIs. */
  namenode?: string;
  /** The user.name of every request (simple authentication); default "acu". */
  user?: string;
  /** Limit of each HTTP request, ms; default 30 000. */
  timeoutMs?: number;
  /** Further attempts after a network error, a 5xx or a retriable HDFS exception; default 4 (waits drawn at random below 0.4, 0.8, 1.6, 3.2 s). */
  retries?: number;
}

/** An HTTP or network failure of one WebHDFS operation; the message names the operation, lake path and URL. */
export class WebHdfsError extends Error {
  constructor(
    message: string,
    readonly op: string,
    readonly path: string,
    readonly status?: number,
    /** The RemoteException class reported by HDFS, e.g. FileNotFoundException. */
    readonly exception?: string,
    readonly retriable = false,
  ) {
    super(message);
    this.name = "WebHdfsError";
  }
}

/** Exceptions HDFS itself marks as worth retrying (NameNode starting, leaving safe mode). */
const RETRIABLE_EXCEPTIONS = new Set(["RetriableException", "SafeModeException", "StandbyException"]);

interface FileStatus {
  pathSuffix: string;
  type: "FILE" | "DIRECTORY" | "SYMLINK";
  length: number;
  modificationTime: number;
}

/**
 * The lake on HDFS through the WebHDFS REST API (plain `fetch`, no JVM in this process).
 *
 * write = CREATE a temporary name `.<name>.<random>.inprogress` in the target folder (two steps: the
 * NameNode names a DataNode, the bytes go to that DataNode; the DataNode closes the file before it
 * answers), then RENAME with OVERWRITE onto the final name: one atomic NameNode operation that also
 * replaces a file of that name (a rewrite after a crash). list skips hidden names (`.`, `_`) and in-progress files.
 */
export class WebHdfsLake implements Lake {
  readonly engine = "hdfs";
  private readonly base: string;
  private readonly root: string;
  private readonly user: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly namenode?: string;
  private closed = false;

  private constructor(opts: WebHdfsLakeOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new Error(`WebHDFS: invalid NameNode HTTP URL '${opts.url}' (expected e.g. http://127.0.0.1:19870)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`WebHDFS: URL must be http(s)://host:port, got '${opts.url}'`);
    this.base = `${url.protocol}//${url.host}`;
    this.root = normalizeRoot(opts.root ?? "/acu/lake");
    this.user = opts.user ?? "acu";
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = Math.max(0, opts.retries ?? 4);
    this.namenode = opts.namenode?.replace(/\/+$/, "");
  }

  /** Connects (creating the root folder if needed); rejects, naming the URL, when the NameNode cannot be reached. */
  static async open(opts: WebHdfsLakeOptions): Promise<WebHdfsLake> {
    const lake = new WebHdfsLake(opts);
    await lake.call("MKDIRS", "", lake.root, { method: "PUT" });
    return lake;
  }

  uri(path: string): string {
    const abs = this.abs(checkPath(path));
    return this.namenode ? `${this.namenode}${abs}` : `webhdfs://${new URL(this.base).host}${abs}`;
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    const { rel, target } = this.fileTarget(path);
    const tmp = await this.sendTemp(rel, target, bytes);
    // Publish: one atomic rename that replaces any file of the final name.
    try {
      await this.call("RENAME", rel, tmp, { method: "PUT" }, { query: { destination: target, renameoptions: "OVERWRITE" } });
    } catch (e) {
      // A rename that succeeded although its answer was lost: retried, it no longer finds its source.
      const [src, dst] = await Promise.all([this.status(tmp, rel).catch(() => undefined), this.status(target, rel).catch(() => undefined)]);
      if (src === null && dst && dst.type === "FILE" && dst.length === bytes.length) return;
      if (src) await this.deleteQuietly(tmp);
      throw e;
    }
    // Resolve only for a file the NameNode holds complete: every byte sent, in closed blocks (a file still
    // under construction, or cut short, reports fewer). Anything else is not left under the final name.
    const published = await this.status(target, rel);
    if (published?.type !== "FILE" || published.length !== bytes.length) {
      if (published?.type === "FILE") await this.deleteQuietly(target);
      const found = published ? `${published.type} of ${published.length} bytes` : "no file";
      throw new WebHdfsError(
        `WebHDFS CREATE ${rel}: wrote ${bytes.length} bytes, the NameNode then held ${found} (${this.base}); removed, to be written again`,
        "CREATE",
        rel,
        undefined,
        undefined,
        true,
      );
    }
  }

  /**
   * The bytes under a temporary name, then RENAME with renameoptions=NONE (HDFS's rename2): one atomic
   * NameNode operation refused with FileAlreadyExistsException when the final name exists. Rather than a
   * CREATE with overwrite=false on the final name, which shows a file under construction (empty, or cut
   * short by a dying writer) to whoever looks before its bytes are closed.
   */
  async createExclusive(path: string, bytes: Uint8Array): Promise<boolean> {
    const { rel, target } = this.fileTarget(path);
    const tmp = await this.sendTemp(rel, target, bytes);
    // Complete before it is published: once under the final name it can no longer be removed and made again.
    const sent = await this.status(tmp, rel);
    if (sent?.type !== "FILE" || sent.length !== bytes.length) {
      await this.deleteQuietly(tmp);
      throw new WebHdfsError(
        `WebHDFS CREATE ${rel}: wrote ${bytes.length} bytes, the NameNode held ${sent?.length ?? "no"} bytes (${this.base})`,
        "CREATE",
        rel,
      );
    }
    try {
      await this.call("RENAME", rel, tmp, { method: "PUT" }, { query: { destination: target, renameoptions: "NONE" } });
      return true;
    } catch (e) {
      // Taken by another creator, or renamed by us although the answer was lost (retried, the source is gone).
      const [src, dst] = await Promise.all([this.status(tmp, rel).catch(() => undefined), this.status(target, rel).catch(() => undefined)]);
      if (src) await this.deleteQuietly(tmp);
      if (dst?.type !== "FILE") throw e;
      const held = await this.read(rel);
      return Buffer.from(held).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  }

  private fileTarget(path: string): { rel: string; target: string } {
    const rel = checkPath(path);
    if (rel === "" || rel.endsWith("/")) throw new Error(`lake path must name a file: '${path}'`);
    return { rel, target: this.abs(rel) };
  }

  /** CREATE of the bytes under a fresh temporary name beside `target` (retried, each attempt a new name); returns that name. */
  private async sendTemp(rel: string, target: string, bytes: Uint8Array): Promise<string> {
    const slash = target.lastIndexOf("/");
    const dir = target.slice(0, slash);
    const name = target.slice(slash + 1);
    // A fresh name per attempt, so a retry never meets its own half-written file.
    let tmp = "";
    let sending = false;
    await retry(
      async () => {
        tmp = `${dir}/.${name}.${crypto.randomUUID().slice(0, 12)}${TMP_SUFFIX}`;
        sending = false;
        const location = await this.createLocation(rel, tmp); // retries on its own
        sending = true;
        try {
          // (fetch's types want an ArrayBuffer-backed view; the lake's callers pass exactly that)
          const body = bytes as Uint8Array<ArrayBuffer>;
          await this.call("CREATE", rel, tmp, { method: "PUT", body, headers: { "content-type": "application/octet-stream" } }, { to: location, retries: 0 });
        } catch (e) {
          await this.deleteQuietly(tmp);
          throw e;
        }
      },
      { ...HDFS_BACKOFF, attempts: this.retries + 1, retriable: (e) => sending && isRetriable(e) },
    );
    return tmp;
  }

  async list(prefix: string): Promise<LakeFile[]> {
    const rel = checkPath(prefix).replace(/\/+$/, "");
    const out: LakeFile[] = [];
    const limit = new Limiter(8);
    const walk = async (relDir: string): Promise<void> => {
      const entries = await limit.run(() => this.listStatus(relDir));
      if (entries === null) return;
      const dirs: string[] = [];
      for (const e of entries) {
        if (e.pathSuffix === "") {
          // LISTSTATUS of a file answers the file itself.
          if (e.type === "FILE" && relDir !== "") out.push({ path: relDir, size: e.length });
          continue;
        }
        if (isHiddenName(e.pathSuffix)) continue;
        const child = relDir === "" ? e.pathSuffix : `${relDir}/${e.pathSuffix}`;
        if (e.type === "DIRECTORY") dirs.push(child);
        else if (e.type === "FILE" && !e.pathSuffix.endsWith(TMP_SUFFIX)) out.push({ path: child, size: e.length });
      }
      await Promise.all(dirs.map(walk));
    };
    await walk(rel);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async read(path: string): Promise<Uint8Array> {
    const rel = checkPath(path);
    const res = await this.call("OPEN", rel, this.abs(rel), { method: "GET" });
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * Deletes what writes cut short by a crash left behind (`*.inprogress`, never listed) and returns
   * how many. Only files untouched for `minAgeMs` (default 10 minutes): another process sharing the
   * lake may be writing one right now.
   */
  async removeLeftovers(opts: { minAgeMs?: number } = {}): Promise<number> {
    const minAgeMs = opts.minAgeMs ?? 10 * 60_000;
    let n = 0;
    const walk = async (relDir: string): Promise<void> => {
      const entries = await this.listStatus(relDir);
      for (const e of entries ?? []) {
        if (e.pathSuffix === "") continue;
        const child = relDir === "" ? e.pathSuffix : `${relDir}/${e.pathSuffix}`;
        if (e.type === "DIRECTORY") await walk(child);
        else if (e.pathSuffix.endsWith(TMP_SUFFIX) && Date.now() - e.modificationTime >= minAgeMs) {
          if (await this.delete(child)) n++;
        }
      }
    };
    await walk("");
    return n;
  }

  /** GETFILESTATUS of the lake's root: the NameNode answers, once, within 2 s. */
  async ping(): Promise<void> {
    if (this.closed) throw new Error(`WebHDFS lake ${this.base}${this.root}: closed`);
    await this.call("GETFILESTATUS", "", this.root, { method: "GET" }, { retries: 0, timeoutMs: 2000 });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- WebHDFS operations ----

  private abs(rel: string): string {
    return rel === "" ? this.root : `${this.root === "/" ? "" : this.root}/${rel}`;
  }

  /** Step one of CREATE: the NameNode answers the DataNode URL to send the bytes to. */
  private async createLocation(rel: string, hdfsPath: string): Promise<string> {
    const res = await this.call(
      "CREATE",
      rel,
      hdfsPath,
      { method: "PUT", redirect: "manual" },
      { query: { overwrite: "true", noredirect: "true" }, redirectOk: true },
    );
    const fromHeader = res.status === 307 ? res.headers.get("location") : null;
    const location = fromHeader ?? ((await res.json().catch(() => ({}))) as { Location?: string }).Location;
    if (!location)
      throw new WebHdfsError(`WebHDFS CREATE ${rel}: the NameNode at ${this.base} named no DataNode (HTTP ${res.status})`, "CREATE", rel, res.status);
    return location;
  }

  /** The folder's entries, or null when it does not exist. */
  private async listStatus(relDir: string): Promise<FileStatus[] | null> {
    try {
      const res = await this.call("LISTSTATUS", relDir, this.abs(relDir), { method: "GET" });
      const body = (await res.json()) as { FileStatuses?: { FileStatus?: FileStatus[] } };
      return body.FileStatuses?.FileStatus ?? [];
    } catch (e) {
      if (e instanceof WebHdfsError && e.status === 404) return null;
      throw e;
    }
  }

  /** The status of an absolute HDFS path, or null when it does not exist. */
  private async status(hdfsPath: string, rel: string): Promise<FileStatus | null> {
    try {
      const res = await this.call("GETFILESTATUS", rel, hdfsPath, { method: "GET" });
      return ((await res.json()) as { FileStatus: FileStatus }).FileStatus;
    } catch (e) {
      if (e instanceof WebHdfsError && e.status === 404) return null;
      throw e;
    }
  }

  private async delete(rel: string): Promise<boolean> {
    const res = await this.call("DELETE", rel, this.abs(rel), { method: "DELETE" });
    return ((await res.json()) as { boolean?: boolean }).boolean === true;
  }

  private async deleteQuietly(hdfsPath: string): Promise<void> {
    await this.call("DELETE", hdfsPath, hdfsPath, { method: "DELETE" }, { retries: 0 }).catch(() => {});
  }

  /**
   * One WebHDFS request with a timeout, retried with backoff on network errors, 5xx and retriable HDFS
   * exceptions. `to` replaces the NameNode URL (a DataNode location). Rejects with a WebHdfsError that
   * names the operation, the lake path, the URL and the HTTP status with HDFS's RemoteException.
   */
  private async call(
    op: string,
    rel: string,
    hdfsPath: string,
    init: RequestInit,
    opts: { query?: Record<string, string>; to?: string; retries?: number; redirectOk?: boolean; timeoutMs?: number } = {},
  ): Promise<Response> {
    let url: string;
    if (opts.to) url = opts.to;
    else {
      const q = new URLSearchParams({ op, "user.name": this.user, ...opts.query });
      url = `${this.base}/webhdfs/v1${encodePath(hdfsPath)}?${q}`;
    }
    const shown = url.replace(/\?.*$/, "");
    const what = `WebHDFS ${op} ${rel === "" ? "/" : rel}${hdfsPath !== rel ? ` (${hdfsPath})` : ""}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    let attempts = 0;
    const once = async (): Promise<Response> => {
      attempts++;
      let res: Response;
      try {
        res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      } catch (e) {
        const reason = (e as Error)?.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : String((e as Error)?.message ?? e);
        throw new WebHdfsError(`${what}: ${shown} unreachable: ${reason}`, op, rel, undefined, undefined, true);
      }
      if (res.ok || (opts.redirectOk && res.status === 307)) return res;
      const text = await res.text().catch(() => "");
      const remote = parseRemoteException(text);
      const retriable = res.status >= 500 || (remote !== undefined && RETRIABLE_EXCEPTIONS.has(remote.exception));
      const detail = remote ? `${remote.exception}: ${remote.message}` : text.slice(0, 200).trim() || res.statusText;
      throw new WebHdfsError(`${what}: HTTP ${res.status} ${detail} (${shown})`, op, rel, res.status, remote?.exception, retriable);
    };
    try {
      return await retry(once, { ...HDFS_BACKOFF, attempts: (opts.retries ?? this.retries) + 1, retriable: isRetriable });
    } catch (e) {
      if (attempts > 1 && e instanceof WebHdfsError) e.message += ` [after ${attempts} attempts]`;
      throw e;
    }
  }
}

/** Waits before WebHDFS retries: below 0.4, 0.8, 1.6, 3.2 s, then 5 s at most (a NameNode leaving safe mode, a DataNode restarting). */
const HDFS_BACKOFF: Backoff = { baseMs: 400, capMs: 5_000 };

function isRetriable(e: unknown): boolean {
  return e instanceof WebHdfsError && e.retriable;
}

function parseRemoteException(text: string): { exception: string; message: string } | undefined {
  try {
    const r = (JSON.parse(text) as { RemoteException?: { exception?: string; message?: string } }).RemoteException;
    if (r?.exception) return { exception: r.exception, message: (r.message ?? "").split("\n")[0]! };
  } catch {
    // not JSON: the caller shows the raw text
  }
  return undefined;
}

/** A lake path: relative, '/'-separated, no '..' segment. Returns it without leading "./" noise. */
function checkPath(path: string): string {
  if (path.startsWith("/") || path.split("/").some((p) => p === "..")) throw new Error(`lake path must be relative without '..': ${path}`);
  return path;
}

function normalizeRoot(root: string): string {
  if (!root.startsWith("/")) throw new Error(`WebHDFS: root must be an absolute HDFS path, got '${root}'`);
  if (root.split("/").some((p) => p === "..")) throw new Error(`WebHDFS: root must not contain '..': '${root}'`);
  const r = root.replace(/\/+$/, "");
  return r === "" ? "/" : r;
}

function encodePath(abs: string): string {
  return abs
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
}

/** At most `n` operations at a time. */
class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n)
      await new Promise<void>((r) => this.queue.push(r)); // the slot is handed over
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
