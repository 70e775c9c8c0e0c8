import { expect, test } from "bun:test";
import { SCOPES, tokenDigest } from "../domain/token.ts";
import type { TokenStore } from "./tokens.ts";

async function within<T>(ms: number, check: () => T | null | false): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`not seen within ${ms} ms`);
    await Bun.sleep(20);
  }
}

/**
 * Behaviour every TokenStore adapter must have. `open` gives a store over shared state; `other` a second
 * client of it (another process in production), `dump` the raw stored bytes (to prove no secret is kept).
 */
export function tokenContract(name: string, open: () => Promise<TokenStore>, other: () => Promise<TokenStore>, dump: () => Promise<string>) {
  test(`${name}: create gives a prefixed secret that verifies to its id and scope; others do not verify`, async () => {
    const s = await open();
    for (const scope of SCOPES) {
      const patrolId = scope === "patrol" ? "p-contract" : undefined;
      const { id, token } = await s.create(scope, `contract ${scope}`, patrolId);
      expect(token).toStartWith(`acu_${scope}_`);
      expect(s.verify(token)).toStrictEqual(patrolId ? { id, scope, patrolId } : { id, scope });
      expect(s.verify(`${token}x`)).toBeNull();
      expect(s.verify(token.slice(0, -1))).toBeNull();
    }
    expect(s.verify("")).toBeNull();
    expect(s.verify(`acu_operator_${"A".repeat(43)}`)).toBeNull();
    await s.close();
  });

  test(`${name}: list has no secrets; revoke removes exactly one; revoking twice says so`, async () => {
    const s = await open();
    const a = await s.create("viewer", "list-a");
    const b = await s.create("ingest", "list-b");
    const listed = await s.list();
    const mine = listed.filter((t) => t.id === a.id || t.id === b.id);
    expect(mine.map((t) => [t.id, t.scope, t.label])).toEqual([
      [a.id, "viewer", "list-a"],
      [b.id, "ingest", "list-b"],
    ]);
    for (const t of mine) expect(Object.keys(t).sort()).toEqual(["createdAt", "id", "label", "scope"]);
    expect(await s.revoke(a.id)).toBe(true);
    expect(s.verify(a.token)).toBeNull();
    expect(s.verify(b.token)).toEqual({ id: b.id, scope: "ingest" });
    expect(await s.revoke(a.id)).toBe(false);
    expect((await s.list()).some((t) => t.id === a.id)).toBe(false);
    await s.close();
  });

  test(`${name}: a patrol token keeps its patrol (verify, list, a second client, a reopen); a wrong binding is refused`, async () => {
    const s = await open();
    const t = await s.create("patrol", "phone", "p-07");
    expect(s.verify(t.token)).toEqual({ id: t.id, scope: "patrol", patrolId: "p-07" });
    expect((await s.list()).find((x) => x.id === t.id)).toEqual({ id: t.id, scope: "patrol", label: "phone", createdAt: expect.any(String), patrolId: "p-07" });
    await expect(s.create("patrol", "none")).rejects.toThrow(/needs the patrol/);
    await expect(s.create("patrol", "bad", "P 7")).rejects.toThrow(/not a patrol id/);
    await expect(s.create("viewer", "bound", "p-07")).rejects.toThrow(/only a patrol token/);
    const b = await other();
    await within(b.propagationMs, () => b.verify(t.token));
    expect(b.verify(t.token)).toEqual({ id: t.id, scope: "patrol", patrolId: "p-07" });
    await b.close();
    await s.close();
    const again = await open();
    expect(again.verify(t.token)).toEqual({ id: t.id, scope: "patrol", patrolId: "p-07" });
    await again.close();
  });

  test(`${name}: the store keeps digests only, never a secret`, async () => {
    const s = await open();
    const { token } = await s.create("operator", "digest-only");
    const raw = await dump();
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(token.slice(-20));
    expect(raw).toContain(tokenDigest(token));
    await s.close();
  });

  test(`${name}: a second client sees a creation and a revocation within propagationMs`, async () => {
    const a = await open();
    const b = await other();
    const t = await a.create("viewer", "cross-client");
    const t0 = Date.now();
    await within(b.propagationMs, () => b.verify(t.token));
    const seenMs = Date.now() - t0;
    expect(b.verify(t.token)).toEqual({ id: t.id, scope: "viewer" });
    expect(await b.revoke(t.id)).toBe(true);
    await within(a.propagationMs, () => a.verify(t.token) === null);
    expect(seenMs).toBeLessThanOrEqual(b.propagationMs);
    await a.close();
    await b.close();
  });

  test(`${name}: tokens survive a reopen`, async () => {
    const s = await open();
    const t = await s.create("ingest", "durable");
    await s.close();
    const again = await open();
    expect(again.verify(t.token)).toEqual({ id: t.id, scope: "ingest" });
    await again.close();
  });

  test(`${name}: ping resolves while the store is open, and rejects once it is closed`, async () => {
    const s = await open();
    await s.ping();
    await s.ping();
    await s.close();
    await expect(s.ping()).rejects.toThrow();
  });
}
