import { expect, test } from "bun:test";
import { metrics, registry, trackLag } from "./metrics.ts";

const lagOf = async (group: string) => (await metrics.consumerLag.get()).values.find((v) => v.labels.group === group)?.value;

test("trackLag measures at once and then periodically, one measurement at a time; a failed one keeps the last value", async () => {
  let calls = 0;
  let running = 0;
  let most = 0;
  const stop = trackLag(
    "test-group",
    async () => {
      calls++;
      most = Math.max(most, ++running);
      await Bun.sleep(30);
      running--;
      return calls * 10;
    },
    5,
  );
  await Bun.sleep(40);
  expect(await lagOf("test-group")).toBe(10);
  await Bun.sleep(100);
  stop();
  await Bun.sleep(40);
  const seen = calls;
  expect(seen).toBeGreaterThanOrEqual(2);
  // Ticks every 5 ms, each measurement 30 ms: never two at once.
  expect(most).toBe(1);
  expect(await lagOf("test-group")).toBe(seen * 10);
  // Stopped: no more measurements.
  await Bun.sleep(40);
  expect(calls).toBe(seen);

  const stop2 = trackLag(
    "test-group",
    async () => {
      throw new Error("engine down");
    },
    5,
  );
  await Bun.sleep(30);
  stop2();
  expect(await lagOf("test-group")).toBe(seen * 10);
});

test("the report → order histogram has buckets from 5 ms to 60 s", async () => {
  const text = await registry.getSingleMetricAsString("acu_report_to_order_seconds");
  const les = [...text.matchAll(/le="([^"]+)"/g)].map((m) => m[1]);
  expect(les[0]).toBe("0.005");
  expect(les.at(-2)).toBe("60");
  expect(les.at(-1)).toBe("+Inf");
});
