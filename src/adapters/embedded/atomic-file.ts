import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Replaces `path` with `text` as one step: written to `<path>.tmp` and fsynced, renamed over `path`, then
 * the folder fsynced so the rename itself survives a power loss. A crash at any point leaves the old file
 * or the new one whole; a leftover `.tmp` is never read, and the next replace overwrites it.
 */
export function replaceFile(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const bytes = new TextEncoder().encode(text);
  const fd = openSync(tmp, "w");
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
