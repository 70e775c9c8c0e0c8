import { link, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { isHiddenName, type Lake, type LakeFile } from "../../ports/lake.ts";

const TMP_SUFFIX = ".inprogress";

/** The lake on the local file system: write to a temporary name, fsync, rename (atomic publish), fsync the directory. */
export class LocalLake implements Lake {
  readonly engine = "local";
  private closed = false;
  constructor(private readonly root: string) {}

  uri(path: string): string {
    return pathToFileURL(join(this.root, path)).href;
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    const target = this.resolve(path);
    const tmp = await this.durableTemp(target, bytes);
    await rename(tmp, target);
    await syncDir(dirname(target));
  }

  /** A hard link of a complete temporary file: link(2) fails with EEXIST when the name is taken, atomically. */
  async createExclusive(path: string, bytes: Uint8Array): Promise<boolean> {
    const target = this.resolve(path);
    const tmp = await this.durableTemp(target, bytes);
    try {
      await link(tmp, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      return Buffer.from(await this.read(path)).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } finally {
      await unlink(tmp).catch(() => {});
    }
    await syncDir(dirname(target));
    return true;
  }

  /**
   * The bytes fsync'd under a temporary name beside the target: the pid tells removeLeftovers whose it is,
   * the random part keeps two writers of one process (a rewrite racing a late write) apart.
   */
  private async durableTemp(target: string, bytes: Uint8Array): Promise<string> {
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}-${crypto.randomUUID().slice(0, 8)}${TMP_SUFFIX}`;
    const fh = await open(tmp, "w");
    try {
      await fh.write(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  async list(prefix: string): Promise<LakeFile[]> {
    const base = this.resolve(prefix.replace(/\/+$/, ""));
    const out: LakeFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        throw e;
      }
      for (const e of entries) {
        if (isHiddenName(e.name)) continue;
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && !e.name.endsWith(TMP_SUFFIX)) {
          out.push({ path: relative(this.root, full).split(sep).join("/"), size: (await stat(full)).size });
        }
      }
    };
    await walk(base);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async read(path: string): Promise<Uint8Array> {
    return new Uint8Array(await Bun.file(this.resolve(path)).arrayBuffer());
  }

  /**
   * Deletes what writes cut short by a crash left behind (`<target>.<pid>-<random>.inprogress`, never listed) and
   * returns how many: files whose writer no longer runs, or untouched for `minAgeMs` (default 10 minutes).
   * Processes share the lake (a sink writes while an analyzer starts): their files are left alone.
   */
  async removeLeftovers(opts: { minAgeMs?: number } = {}): Promise<number> {
    const minAgeMs = opts.minAgeMs ?? 10 * 60_000;
    let n = 0;
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (isHiddenName(e.name)) continue;
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.name.endsWith(TMP_SUFFIX)) {
          const pid = Number(/\.(\d+)(?:-[0-9a-f]+)?\.inprogress$/.exec(e.name)?.[1]);
          const st = await stat(full).catch(() => null);
          if (!st) continue; // published (renamed) by its writer meanwhile
          if (pid !== process.pid && writerRuns(pid) && Date.now() - st.mtimeMs < minAgeMs) continue;
          try {
            await unlink(full);
            n++;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
          }
        }
      }
    };
    await walk(this.root);
    return n;
  }

  /**
   * Open, and the root a folder that can be made: the first write makes it (and the data dir above it,
   * which a process on shared engines may not have yet), so making it here is harmless and proves the
   * lake can hold files (a read-only or missing mount fails).
   */
  async ping(): Promise<void> {
    if (this.closed) throw new Error(`the local lake ${this.root} is closed`);
    await mkdir(this.root, { recursive: true }).catch((e: NodeJS.ErrnoException) => (e.code === "EEXIST" ? undefined : Promise.reject(e)));
    if (!(await stat(this.root)).isDirectory()) throw new Error(`the local lake ${this.root} is not a folder`);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private resolve(path: string): string {
    if (path.split("/").some((p) => p === "..") || path.startsWith("/")) throw new Error(`lake path must be relative without '..': ${path}`);
    return join(this.root, path);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The process that wrote a temporary file still runs (this machine's pids: the local lake is one machine's). */
function writerRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
