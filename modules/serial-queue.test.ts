import { expect, test } from "bun:test";
import { SerialQueue } from "./serial-queue.ts";

test("jobs run one at a time in call order; a failure goes to its caller only", async () => {
  const q = new SerialQueue();
  const log: string[] = [];
  let running = 0;
  const job =
    (name: string, fail = false) =>
    async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await Bun.sleep(5);
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(name);
      return name;
    };
  const a = q.run(job("a"));
  const b = q.run(job("b", true));
  const c = q.run(job("c"));
  expect(q.pending).toBe(3);
  expect(await a).toBe("a");
  await expect(b).rejects.toThrow("b");
  expect(await c).toBe("c");
  await q.idle();
  expect(q.pending).toBe(0);
  expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
});
