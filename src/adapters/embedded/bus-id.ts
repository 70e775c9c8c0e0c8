import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

const ID_FILE = "bus-id";

/**
 * The embedded log's identity: a random id kept in its folder, made the first time it is asked for and
 * never changed (written to a temporary file, fsync'd, renamed). A fresh data dir is then another bus, and
 * a lake written from the old one is not continued from it by mistake.
 */
export function embeddedBusId(dir: string): string {
  const file = join(dir, ID_FILE);
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (!/^[0-9a-f-]{36}$/.test(id))
      throw new Error(`the embedded log's id in ${file} is not an id ("${id.slice(0, 40)}"): restore it, or remove the folder's log`);
    return id;
  }
  const id = crypto.randomUUID();
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, `${id}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return id;
}
