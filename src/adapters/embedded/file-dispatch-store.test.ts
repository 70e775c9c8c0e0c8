import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addPatrol, dispatchStoreContract, openFor } from "../../ports/dispatch-store.contract.ts";
import { FileDispatchStore } from "./file-dispatch-store.ts";

const root = mkdtempSync(join(tmpdir(), "acu-dispatch-store-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

dispatchStoreContract("embedded", async () => {
  const dir = join(root, `c${n++}`);
  let s: FileDispatchStore | null = await FileDispatchStore.open(dir);
  const close = async () => {
    await s?.close();
    s = null;
  };
  // One process holds the store: both clients are the same one.
  return {
    a: s,
    b: s,
    reopen: async () => {
      await close();
      return FileDispatchStore.open(dir);
    },
    close,
  };
});

test("another process cannot open the store while this one holds it", async () => {
  const dir = join(root, "locked");
  const s = await FileDispatchStore.open(dir);
  const script = `import { FileDispatchStore } from ${JSON.stringify(join(import.meta.dir, "file-dispatch-store.ts"))};
    try { await FileDispatchStore.open(${JSON.stringify(dir)}); process.exit(0); } catch (e) { console.error(e.message); process.exit(3); }`;
  const p = Bun.spawn([process.execPath, "-e", script], { stderr: "pipe", stdout: "ignore" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  expect(code).toBe(3);
  expect(err).toContain("in use by process");
  await s.close();
});

test("the journal is folded into state.json when it grows; the state survives, the old journal goes", async () => {
  const dir = join(root, "compact");
  const s = await FileDispatchStore.open(dir, { compactBytes: 4096 });
  for (let i = 0; i < 20; i++) await openFor(s, `s${i}`);
  const p = await addPatrol(s, "p1");
  await s.close();
  const files = readdirSync(dir).filter((f) => f.startsWith("journal-"));
  expect(files.length).toBe(1);
  expect(files[0]).not.toBe("journal-0.log");
  expect(statSync(join(dir, "state.json")).size).toBeGreaterThan(0);
  const again = await FileDispatchStore.open(dir);
  expect((await again.snapshot()).incidents.length).toBe(20);
  expect((await again.getPatrol("p1"))?.revision).toBe(p.revision);
  expect((await again.pendingEvents(100)).length).toBe(20);
  await again.close();
});

test("a torn journal tail (a crash mid-write) is cut: the acknowledged commits before it are kept", async () => {
  const dir = join(root, "torn");
  const s = await FileDispatchStore.open(dir);
  await openFor(s, "a");
  await openFor(s, "b");
  await s.close();
  const journal = join(dir, "journal-0.log");
  truncateSync(journal, statSync(journal).size - 7);
  const again = await FileDispatchStore.open(dir);
  expect((await again.snapshot()).incidents.map((i) => i.value.studentId)).toEqual(["a"]);
  expect(await again.getStudent("b")).toBeNull();
  await openFor(again, "b");
  await again.close();
  const third = await FileDispatchStore.open(dir);
  expect((await third.snapshot()).incidents.length).toBe(2);
  await third.close();
});

test("a watch from before the history kept is told to start over", async () => {
  const dir = join(root, "history");
  const s = await FileDispatchStore.open(dir, { historySize: 3 });
  for (let i = 0; i < 6; i++) await openFor(s, `s${i}`);
  let reset = "";
  await s.watch(
    1,
    () => {},
    (why) => (reset = why),
  );
  await Bun.sleep(1);
  expect(reset).toContain("older than the history");
  const seen: number[] = [];
  const rev = (await s.snapshot()).revision;
  await s.watch(
    rev - 2,
    (c) => seen.push(c.revision),
    () => {},
  );
  expect(seen).toEqual([rev - 1, rev]);
  await s.close();
});
