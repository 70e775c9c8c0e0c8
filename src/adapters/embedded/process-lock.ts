import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/**
 * One process owns an embedded store: it holds an exclusive `flock` on the store's LOCK file for as long
 * as it runs. The kernel lets go of it when the process ends, however it ends (kill -9 included), so a
 * LOCK file left behind never blocks; and it works on the file, not on a pid, so two containers sharing
 * the data dir (each process pid 1 in its own) still exclude each other. The file holds the owner's pid
 * for the message only.
 */
export class ProcessLock {
  private constructor(private fd: number | null) {}

  static acquire(path: string, what: string): ProcessLock {
    const flock = libcFlock();
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    const refused = flock(fd);
    if (refused) {
      const owner = readFileSync(path, "utf8").trim();
      closeSync(fd);
      throw new Error(
        refused === "held"
          ? `${what} at ${dirname(path)} is in use by process ${owner || "(unknown)"} (a pid of its own container), which holds the lock on ${path}. ` +
              "Embedded stores belong to one process: run the roles together in that process (--role=all), " +
              "or point every process at shared engines (ACU_KAFKA_BROKERS, ACU_ETCD_ENDPOINTS, ACU_DATABASE_URL)."
          : `${what} at ${dirname(path)}: cannot lock ${path} (${refused})`,
      );
    }
    ftruncateSync(fd, 0);
    writeSync(fd, String(process.pid), 0);
    return new ProcessLock(fd);
  }

  /** Lets go of the lock (closing the file drops it). The file stays: removing it would let two
   * processes lock two different files of one name. */
  release(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

const LOCK_EX = 2;
const LOCK_NB = 4;
/** EWOULDBLOCK on Linux and on macOS. */
const HELD = new Set([11, 35]);

type Flock = (fd: number) => null | "held" | string;
let cached: Flock | null = null;

/** flock(2) from the C library, bound once: null if taken, else why not. */
function libcFlock(): Flock {
  if (cached) return cached;
  const names = process.platform === "darwin" ? ["libc.dylib"] : ["libc.so.6", "libc.so"];
  let libc: Libc | null = null;
  for (const name of names) {
    try {
      libc = bind(name);
      break;
    } catch {}
  }
  if (!libc) {
    throw new Error(
      `the embedded stores lock their data dir with flock(2) from the C library, not found here (${names.join(", ")} on ${process.platform}): ` +
        "run acu on Linux or macOS, or point it at shared engines (ACU_KAFKA_BROKERS, ACU_ETCD_ENDPOINTS, ACU_DATABASE_URL)",
    );
  }
  const { flock, errno } = libc;
  cached = (fd) => {
    if (flock(fd, LOCK_EX | LOCK_NB) === 0) return null;
    const code = errno();
    return HELD.has(code) ? "held" : `flock failed, errno ${code}`;
  };
  return cached;
}

interface Libc {
  flock(fd: number, op: number): number;
  errno(): number;
}

/** errno is thread-local: the C library hands out its address. */
const ERRNO = process.platform === "darwin" ? "__error" : "__errno_location";

function bind(name: string): Libc {
  const { symbols } = dlopen(name, {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    [ERRNO]: { args: [], returns: FFIType.ptr },
  });
  const errnoAt = symbols[ERRNO] as () => number | null;
  return { flock: (fd, op) => symbols.flock(fd, op) as number, errno: () => read.i32(errnoAt()!, 0) };
}
