import { describe, expect, test } from "bun:test";
import { Coalescer } from "./coalescer.ts";

/** A batch runner whose batches finish when the test says so. */
function gated<T>() {
  const batches: T[][] = [];
  const gates: Array<() => void> = [];
  const run = (items: T[]) => {
    batches.push(items);
    return new Promise<number>((resolve) => gates.push(() => resolve(batches.length)));
  };
  const open = async () => {
    for (let i = 0; i < 100 && gates.length === 0; i++) await new Promise<void>((r) => setImmediate(r));
    gates.shift()!();
  };
  return { batches, run, open };
}

describe("Coalescer", () => {
  test("calls made while a batch is in flight run together as the next one, in arrival order, each settling with its batch", async () => {
    const g = gated<string>();
    const c = new Coalescer(g.run, { begin: "now" });
    const first = c.add("a");
    // "now": the first call is on its way alone; these wait for it.
    const later = ["b", "c", "d"].map((x) => c.add(x));
    expect(g.batches).toEqual([["a"]]);
    expect(c.waiting).toBe(3);
    await g.open();
    expect(await first).toBe(1);
    await g.open();
    expect(await Promise.all(later)).toEqual([2, 2, 2]);
    expect(g.batches).toEqual([["a"], ["b", "c", "d"]]);
    await c.idle();
    expect(c.waiting).toBe(0);
  });

  test("'microtask' gathers the calls of one tick; 'turn' also those made by the callbacks of that turn", async () => {
    const tick = gated<number>();
    const perTick = new Coalescer(tick.run, { begin: "microtask" });
    const a = [perTick.add(1), perTick.add(2)];
    await Promise.resolve();
    a.push(perTick.add(3)); // after the batch began: the next one
    await tick.open();
    await tick.open();
    await Promise.all(a);
    expect(tick.batches).toEqual([[1, 2], [3]]);

    const turn = gated<number>();
    const perTurn = new Coalescer(turn.run, { begin: "turn" });
    const b = [perTurn.add(1)];
    await Promise.resolve();
    b.push(perTurn.add(2)); // a promise callback of the same turn (a shared read answered): still joins
    await turn.open();
    await Promise.all(b);
    expect(turn.batches).toEqual([[1, 2]]);
  });

  test("a failed batch rejects each of its callers with the error, and the next batch still runs", async () => {
    let n = 0;
    const c = new Coalescer<string>(
      async (items) => {
        n++;
        if (items.includes("bad")) throw new Error(`batch ${n} refused`);
      },
      { begin: "microtask" },
    );
    const together = await Promise.allSettled([c.add("good"), c.add("bad")]);
    expect(together.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok"))).toEqual(["batch 1 refused", "batch 1 refused"]);
    await expect(c.add("good")).resolves.toBeUndefined();
    expect(n).toBe(2);
  });

  test("a limit bounds a batch's weight, and an item heavier than the limit goes alone", async () => {
    const g = gated<number>();
    const c = new Coalescer(g.run, { begin: "microtask", limit: { weight: (x) => x, max: 10 } });
    const all = [4, 4, 4, 12, 1, 9, 1].map((x) => c.add(x));
    for (let i = 0; i < 5; i++) await g.open();
    await Promise.all(all);
    expect(g.batches).toEqual([[4, 4], [4], [12], [1, 9], [1]]);
  });

  test("idle() waits for the batches under way", async () => {
    const g = gated<number>();
    const c = new Coalescer(g.run, { begin: "now" });
    let settled = 0;
    for (const x of [1, 2]) void c.add(x).then(() => settled++);
    const idle = c.idle().then(() => settled);
    await g.open();
    await g.open();
    expect(await idle).toBe(2);
  });
});
