import { expect, test } from "bun:test";
import { Rerun } from "./rerun.ts";

test("kicks during a run make one more run after it, never two at once; stop waits for the run under way", async () => {
  let active = 0;
  let most = 0;
  let runs = 0;
  let idles = 0;
  const r = new Rerun(
    async () => {
      active++;
      most = Math.max(most, active);
      runs++;
      await Bun.sleep(10);
      active--;
      return false;
    },
    () => idles++,
  );
  r.kick();
  r.kick();
  r.kick();
  await Bun.sleep(50);
  expect([runs, most, idles]).toEqual([2, 1, 1]);
  r.kick();
  const stopping = r.stop();
  expect(active).toBe(1);
  await stopping;
  expect(active).toBe(0);
  r.kick();
  await Bun.sleep(20);
  expect(runs).toBe(3);
});

test("a run that asks for more runs again at once, until it says done", async () => {
  let left = 5;
  const r = new Rerun(async () => --left > 0);
  r.kick();
  await Bun.sleep(20);
  expect(left).toBe(0);
});
