import { open, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What the fsyncs of one window saw: the size of each file when its sync began. */
export interface FsyncSpy {
  calls: number[];
  /** Puts the runtime's fsync back. */
  restore(): void;
}

/**
 * Replaces the runtime's fsync and fdatasync of file handles (node:fs/promises, what the journal calls)
 * with `run` for the time of a test: the fault is injected where the kernel call is made, so code that
 * acknowledged before its sync, or skipped it, is caught. The file's size at each call is recorded.
 */
export async function injectFsync(run: (original: () => Promise<void>) => Promise<void>): Promise<FsyncSpy> {
  const probePath = join(tmpdir(), `acu-fsync-probe-${process.pid}`);
  const probe = await open(probePath, "w");
  const proto = Object.getPrototypeOf(probe) as { datasync(): Promise<void>; sync(): Promise<void>; stat(): Promise<{ size: number }> };
  await probe.close();
  await unlink(probePath);
  const { datasync, sync } = proto;
  const calls: number[] = [];
  const spy = (original: () => Promise<void>) =>
    async function (this: typeof proto): Promise<void> {
      calls.push((await this.stat()).size);
      await run(() => original.call(this));
    };
  proto.datasync = spy(datasync);
  proto.sync = spy(sync);
  return {
    calls,
    restore() {
      proto.datasync = datasync;
      proto.sync = sync;
    },
  };
}

/** An fsync the disk refuses, as a failing device reports it. */
export function eio(): Promise<void> {
  return Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync (injected)"), { code: "EIO" }));
}
