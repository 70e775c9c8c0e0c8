import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eio, injectFsync } from "../../../tests/support/fsync-fault.ts";
import { busContract } from "../../ports/bus.contract.ts";
import { JournalDamagedError } from "./journal.ts";
import { EmbeddedLogBus } from "./log-bus.ts";

const dir = mkdtempSync(join(tmpdir(), "acu-bus-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The contract reopens the log between tests; the lock allows it because the previous bus is closed first.
let current: EmbeddedLogBus | null = null;
busContract(
  "embedded",
  async () => {
    await current?.close();
    current = await EmbeddedLogBus.open(join(dir, "contract"), { t: 3, out: 2 });
    return current;
  },
  { topic: "t", outTopic: "out" },
);

test("a torn frame at the tail is cut off at reopen; acknowledged messages survive", async () => {
  const d = join(dir, "torn");
  const bus = await EmbeddedLogBus.open(d, { t: 2 });
  await bus.publish(
    "t",
    Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  );
  await bus.close();
  const size = statSync(join(d, "journal.log")).size;
  // A crash mid-write leaves a partial frame behind.
  appendFileSync(join(d, "journal.log"), new Uint8Array([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
  const again = await EmbeddedLogBus.open(d, { t: 2 });
  expect((await again.endOffsets("t")).reduce((a, b) => a + b, 0)).toBe(10);
  expect(statSync(join(d, "journal.log")).size).toBe(size);
  await again.publish("t", [{ key: "k", value: "after" }]);
  await again.close();
  const third = await EmbeddedLogBus.open(d, { t: 2 });
  expect((await third.endOffsets("t")).reduce((a, b) => a + b, 0)).toBe(11);
  await third.close();
});

/** A log of `batches` publishes of 5 messages each; returns the byte offset where each publish's frame starts. */
async function writeBatches(d: string, batches: number): Promise<number[]> {
  const bus = await EmbeddedLogBus.open(d, { t: 2 });
  const starts: number[] = [];
  for (let b = 0; b < batches; b++) {
    starts.push(statSync(join(d, "journal.log")).size);
    await bus.publish(
      "t",
      Array.from({ length: 5 }, (_, i) => ({ key: `k${b}-${i}`, value: `batch ${b} message ${i}` })),
    );
  }
  await bus.close();
  return starts;
}

const total = async (bus: EmbeddedLogBus) => (await bus.endOffsets("t")).reduce((a, b) => a + b, 0);

/** Flips one byte of the file at `at`. */
function flip(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
}

test("a damaged frame with acknowledged frames after it: the open is refused, nothing is cut, a copy is kept", async () => {
  const d = join(dir, "mid-damage");
  const starts = await writeBatches(d, 6);
  const file = join(d, "journal.log");
  flip(file, starts[2]! + 20); // inside the third frame's payload
  const damaged = readFileSync(file);
  const err = await EmbeddedLogBus.open(d, { t: 2 }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JournalDamagedError);
  const e = err as JournalDamagedError;
  expect([e.path, e.offset, e.nextFrame]).toEqual([file, starts[2]!, starts[3]!]);
  expect(e.message).toContain(`${file} is damaged at byte ${starts[2]}`);
  expect(e.message).toContain(`A copy is at ${file}.corrupt-at-${starts[2]}`);
  // The three frames after the damage are still in the file, and in the copy.
  expect(readFileSync(file).equals(damaged)).toBe(true);
  expect(readFileSync(e.copy).equals(damaged)).toBe(true);
  // A restart loop keeps refusing, without a copy per start; the lock is let go each time.
  await expect(EmbeddedLogBus.open(d, { t: 2 })).rejects.toThrow(JournalDamagedError);
  expect(readdirSync(d).filter((f) => f.includes("corrupt"))).toEqual([`journal.log.corrupt-at-${starts[2]}`]);
  expect(readFileSync(file).equals(damaged)).toBe(true);
});

test("a frame whose length was hit: the next intact frame is found by scanning, and the open is refused", async () => {
  const d = join(dir, "length-damage");
  const starts = await writeBatches(d, 4);
  const file = join(d, "journal.log");
  flip(file, starts[1]! + 1); // the length of the second frame: it now reaches past the end of the file
  const size = statSync(file).size;
  await expect(EmbeddedLogBus.open(d, { t: 2 })).rejects.toThrow(`damaged at byte ${starts[1]}, and intact frames follow (the first at byte ${starts[2]})`);
  expect(statSync(file).size).toBe(size);
});

test("the last frame damaged with nothing intact after it is a torn tail: cut, the rest kept, the log writable", async () => {
  const d = join(dir, "torn-last");
  const starts = await writeBatches(d, 4);
  const file = join(d, "journal.log");
  flip(file, starts[3]! + 20);
  const again = await EmbeddedLogBus.open(d, { t: 2 });
  expect(await total(again)).toBe(15);
  expect(statSync(file).size).toBe(starts[3]!);
  await again.publish("t", [{ key: "k", value: "after" }]);
  await again.close();
  const third = await EmbeddedLogBus.open(d, { t: 2 });
  expect(await total(third)).toBe(16);
  await third.close();
  expect(readdirSync(d).filter((f) => f.includes("corrupt"))).toEqual([]);
});

test("a tail of zeros or of random bytes (blocks a crash left unwritten) is cut, quickly", async () => {
  const d = join(dir, "garbage-tail");
  await writeBatches(d, 3);
  const file = join(d, "journal.log");
  const size = statSync(file).size;
  const random = new Uint8Array(8 * 1024 * 1024);
  for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
  for (const tail of [new Uint8Array(8 * 1024 * 1024), random]) {
    appendFileSync(file, tail);
    const t0 = performance.now();
    const bus = await EmbeddedLogBus.open(d, { t: 2 });
    const ms = performance.now() - t0;
    expect([await total(bus), statSync(file).size]).toEqual([15, size]);
    await bus.close();
    expect(ms).toBeLessThan(10_000);
  }
});

test("a name the frame format cannot hold fails its own append only, not the group commit it would share", async () => {
  const d = join(dir, "names");
  const bus = await EmbeddedLogBus.open(d, { t: 2 });
  const long = bus.append(bus.commitEntries("g".repeat(256), [{ topic: "t", partition: 0, offset: 1 }]));
  const good = bus.publish("t", [{ key: "k", value: "v" }]);
  await expect(long).rejects.toThrow("255");
  await good;
  await expect(bus.append(bus.commitEntries("a group", [{ topic: "t", partition: 0, offset: 1 }]))).rejects.toThrow(
    "topic and group names are 1 to 255 printable ASCII characters",
  );
  expect(await total(bus)).toBe(1);
  await bus.close();
});

test("a second process cannot open a log that a live process owns", async () => {
  const d = join(dir, "locked");
  const bus = await EmbeddedLogBus.open(d, { t: 1 });
  const child = Bun.spawnSync({
    cmd: [
      process.execPath,
      "-e",
      `import { EmbeddedLogBus } from ${JSON.stringify(`${import.meta.dir}/log-bus.ts`)}; await EmbeddedLogBus.open(${JSON.stringify(d)}, { t: 1 });`,
    ],
    stderr: "pipe",
  });
  expect(child.exitCode).not.toBe(0);
  expect(child.stderr.toString()).toContain(`in use by process ${process.pid}`);
  await bus.close();
});

test("partition counts are kept from creation", async () => {
  const d = join(dir, "layout");
  // Closed before the reopen: the lock (flock) refuses a second open in the same process too.
  await (await EmbeddedLogBus.open(d, { t: 4 })).close();
  const again = await EmbeddedLogBus.open(d, { t: 9 });
  expect(again.partitions("t")).toBe(4);
  await again.close();
});

test("topics.json is replaced whole: a write cut short (file size limit) and a leftover temporary file leave the layout intact", async () => {
  const d = join(dir, "layout-crash");
  const bus = await EmbeddedLogBus.open(d, { t: 2 });
  await bus.publish("t", [{ key: "k", value: "kept" }]);
  await bus.close();
  const layout = readFileSync(join(d, "topics.json"), "utf8");
  // A writer that dies after 512 bytes (ulimit -f 1: the write fails with EFBIG) while adding 200 topics.
  const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`a-topic-with-a-long-name-${i}`, 3]));
  const script = `import { EmbeddedLogBus } from ${JSON.stringify(join(import.meta.dir, "log-bus.ts"))}; await EmbeddedLogBus.open(${JSON.stringify(d)}, ${JSON.stringify(wide)});`;
  const child = Bun.spawnSync({ cmd: ["sh", "-c", 'ulimit -f 1; exec "$0" -e "$1"', process.execPath, script], stderr: "pipe" });
  expect(child.exitCode).not.toBe(0);
  expect(child.stderr.toString()).toContain("EFBIG");
  expect(readFileSync(join(d, "topics.json"), "utf8")).toBe(layout);
  // What a crash mid-write leaves beside it is never read.
  writeFileSync(join(d, "topics.json.tmp"), '{"t": 7, "u"');
  const again = await EmbeddedLogBus.open(d, { t: 5 });
  expect([again.partitions("t"), await total(again)]).toEqual([2, 1]);
  await again.close();
  const grown = await EmbeddedLogBus.open(d, wide);
  expect([grown.partitions("t"), grown.partitions("a-topic-with-a-long-name-199")]).toEqual([2, 3]);
  await grown.close();
});

test("a topics.json that is not a layout is refused, naming the file", async () => {
  const d = join(dir, "layout-bad");
  await (await EmbeddedLogBus.open(d, { t: 2 })).close();
  writeFileSync(join(d, "topics.json"), '{"t": 2, "u');
  await expect(EmbeddedLogBus.open(d, { t: 2 })).rejects.toThrow(`${join(d, "topics.json")} is not a topic layout`);
  writeFileSync(join(d, "topics.json"), '{"t": 0}');
  await expect(EmbeddedLogBus.open(d, { t: 2 })).rejects.toThrow("is not a topic layout");
});

test("a publish resolves only after the fdatasync of its written frame; a failing fsync fails it and nothing is indexed or kept", async () => {
  const d = join(dir, "fsync-fails");
  const file = join(d, "journal.log");
  const bus = await EmbeddedLogBus.open(d, { t: 2 });
  await bus.publish("t", [{ key: "a", value: "before" }]);
  const size = statSync(file).size;
  const spy = await injectFsync(eio);
  try {
    await expect(bus.publish("t", [{ key: "b", value: "refused" }])).rejects.toThrow("EIO");
  } finally {
    spy.restore();
  }
  // One sync, of a file the frame had already reached.
  expect(spy.calls.length).toBe(1);
  expect(spy.calls[0]!).toBeGreaterThan(size);
  expect(await total(bus)).toBe(1);
  expect(statSync(file).size).toBe(size);
  await bus.publish("t", [{ key: "c", value: "after" }]);
  await bus.close();
  const again = await EmbeddedLogBus.open(d, { t: 2 });
  const values = [0, 1].flatMap((p) => again.read("t", p, 0, 10).map((r) => new TextDecoder().decode(r.value)));
  expect(values.sort()).toEqual(["after", "before"]);
  await again.close();
});

test("a publish is neither resolved nor readable while its fsync is under way", async () => {
  const d = join(dir, "fsync-held");
  const bus = await EmbeddedLogBus.open(d, { t: 2 });
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const spy = await injectFsync(async (original) => {
    await held;
    await original();
  });
  let acknowledged = false;
  try {
    const publish = bus.publish("t", [{ key: "a", value: "x" }]).then(() => {
      acknowledged = true;
    });
    await Bun.sleep(50);
    expect([spy.calls.length, acknowledged, await total(bus)]).toEqual([1, false, 0]);
    release();
    await publish;
  } finally {
    spy.restore();
  }
  expect([acknowledged, await total(bus)]).toEqual([true, 1]);
  await bus.close();
});

test("concurrent publishes share fsyncs and all become durable", async () => {
  const d = join(dir, "group-commit");
  const bus = await EmbeddedLogBus.open(d, { t: 6 });
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      bus.publish(
        "t",
        Array.from({ length: 50 }, (_, j) => ({ key: `s${i}-${j}`, value: "x".repeat(150) })),
      ),
    ),
  );
  await bus.close();
  const again = await EmbeddedLogBus.open(d, { t: 6 });
  expect((await again.endOffsets("t")).reduce((a, b) => a + b, 0)).toBe(10_000);
  await again.close();
});

test("ping rejects once the journal is gone from its folder (a data dir removed or unmounted)", async () => {
  const d = join(dir, "ping");
  const bus = await EmbeddedLogBus.open(d, { t: 1 });
  await bus.ping();
  rmSync(d, { recursive: true });
  await expect(bus.ping()).rejects.toThrow("ENOENT");
  await bus.close();
});

test("raw topics (external producers') need Kafka: the embedded log refuses to consume one, naming it", async () => {
  const bus = await EmbeddedLogBus.open(join(dir, "raw"), { t: 1 });
  try {
    await expect(bus.consume({ group: "g", topics: ["t", "raw:student_report"], commit: "auto" }, async () => {})).rejects.toThrow(
      "the embedded log has no external producers' topics (student_report): raw topics need Kafka (ACU_KAFKA_BROKERS)",
    );
    expect(bus.topicName("t")).toBe("t");
  } finally {
    await bus.close();
  }
});
