import { expect, test } from "bun:test";
import type { ThresholdStore } from "./thresholds.ts";

/** Behaviour every ThresholdStore adapter must have. `open` gives a store over shared state; `other` a second client of it. */
export function thresholdContract(name: string, open: () => Promise<ThresholdStore>, other?: () => Promise<ThresholdStore>) {
  test(`${name}: set, remove and default each raise the revision and are read back`, async () => {
    const s = await open();
    const r0 = (await s.current()).revision;
    const a = await s.set("ex.contract", 42);
    expect(a.revision).toBeGreaterThan(r0);
    expect((await s.current()).thresholds["ex.contract"]).toBe(42);
    const b = await s.setDefault(55);
    expect(b.revision).toBeGreaterThan(a.revision);
    expect((await s.current()).defaultThreshold).toBe(55);
    const c = await s.remove("ex.contract");
    expect(c.revision).toBeGreaterThan(b.revision);
    expect((await s.current()).thresholds["ex.contract"]).toBeUndefined();
    await s.close();
  });

  test(`${name}: an acknowledged write is seen by the next current(), 100 times of 100`, async () => {
    const writer = await open();
    const reader = other ? await other() : writer;
    let stale = 0;
    for (let i = 0; i < 100; i++) {
      await writer.set("ex.visibility", i % 101);
      if ((await reader.current()).thresholds["ex.visibility"] !== i % 101) stale++;
    }
    expect(stale).toBe(0);
    await writer.close();
    if (reader !== writer) await reader.close();
  });

  test(`${name}: view() holds this client's acknowledged writes at once, another client's soon after, with no read`, async () => {
    const writer = await open();
    const reader = other ? await other() : writer;
    await writer.set("ex.view", 33);
    expect(writer.view().thresholds["ex.view"]).toBe(33);
    // Another client learns it from its watch: within a second, without calling current().
    const deadline = Date.now() + 1000;
    while (reader.view().thresholds["ex.view"] !== 33 && Date.now() < deadline) await Bun.sleep(5);
    expect(reader.view().thresholds["ex.view"]).toBe(33);
    await writer.remove("ex.view");
    expect(Object.hasOwn(writer.view().thresholds, "ex.view")).toBe(false);
    await writer.close();
    if (reader !== writer) await reader.close();
  });

  test(`${name}: values survive a reopen`, async () => {
    const s = await open();
    await s.set("ex.durable", 77);
    await s.close();
    const again = await open();
    expect((await again.current()).thresholds["ex.durable"]).toBe(77);
    await again.close();
  });

  test(`${name}: exercises named like Object.prototype members are ordinary keys`, async () => {
    const s = await open();
    await s.set("__proto__", 11);
    await s.set("toString", 12);
    const snap = await s.current();
    // biome-ignore lint/suspicious/noProto: an exercise named __proto__ must be an own key, not the prototype
    // biome-ignore lint/complexity/useLiteralKeys: written as the exercise id it is
    expect(Object.hasOwn(snap.thresholds, "__proto__") && snap.thresholds["__proto__"]).toBe(11);
    // biome-ignore lint/complexity/useLiteralKeys: written as the exercise id it is
    expect(Object.hasOwn(snap.thresholds, "toString") && snap.thresholds["toString"]).toBe(12);
    await s.remove("__proto__");
    await s.remove("toString");
    await s.close();
  });

  test(`${name}: ping resolves while the store is open, and rejects once it is closed`, async () => {
    const s = await open();
    await s.ping();
    await s.ping();
    await s.close();
    await expect(s.ping()).rejects.toThrow();
  });
}
