import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busContract } from "../../ports/bus.contract.ts";
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
  (await EmbeddedLogBus.open(d, { t: 4 })).close();
  await Bun.sleep(10);
  const again = await EmbeddedLogBus.open(d, { t: 9 });
  expect(again.partitions("t")).toBe(4);
  await again.close();
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
