import { readFileSync, unlinkSync, writeFileSync } from "node:fs";

/**
 * One process owns an embedded store. The lock file holds the owner's pid; a lock left by a process that
 * died (kill -9) is taken over, a live owner is refused with a message saying what to do instead.
 */
export class ProcessLock {
  private constructor(private readonly path: string) {}

  static acquire(path: string, what: string): ProcessLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, String(process.pid), { flag: "wx" });
        return new ProcessLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const owner = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new Error(
          `${what} at ${path.replace(/\/LOCK$/, "")} is in use by process ${owner}. ` +
            "Embedded stores belong to one process: run the roles together in that process (--role=all), " +
            "or point every process at shared engines (ACU_KAFKA_BROKERS, ACU_ETCD_ENDPOINTS, ACU_DATABASE_URL).",
        );
      }
      unlinkSync(path); // stale: its owner is gone
    }
    throw new Error(`could not take the lock ${path}`);
  }

  release(): void {
    try {
      if (readFileSync(this.path, "utf8").trim() === String(process.pid)) unlinkSync(this.path);
    } catch {}
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
