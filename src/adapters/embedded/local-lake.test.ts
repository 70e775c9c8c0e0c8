import { afterAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { lakeContract } from "../../ports/lake.contract.ts";
import { LocalLake } from "./local-lake.ts";

const root = await mkdtemp(join(tmpdir(), "acu-local-lake-"));
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** What LocalLake.write leaves when the process dies before its rename: `<target>.<pid>-<random>.inprogress`. */
async function plantLeftover(path: string, bytes: Uint8Array): Promise<void> {
  const file = join(root, `${path}.4242-0a1b2c3d.inprogress`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
}

lakeContract("local", async () => new LocalLake(root), { plantLeftover });

test("local: removeLeftovers deletes the temporary files of interrupted writes, and only those", async () => {
  const dir = await mkdtemp(join(tmpdir(), "acu-local-lake-leftovers-"));
  try {
    const lake = new LocalLake(dir);
    await lake.write("reports/date=2026-11-27/hour=09/a.parquet", new Uint8Array([1, 2, 3]));
    await mkdir(join(dir, "reports/date=2026-11-27/hour=09"), { recursive: true });
    const dead = deadPid();
    await writeFile(join(dir, `reports/date=2026-11-27/hour=09/b.parquet.${dead}.inprogress`), "partial");
    await writeFile(join(dir, `reports/date=2026-11-27/hour=09/a.parquet.${dead}-0a1b2c3d.inprogress`), "partial");
    expect(await lake.removeLeftovers()).toBe(2);
    expect(await readdir(join(dir, "reports/date=2026-11-27/hour=09"))).toEqual(["a.parquet"]);
    expect(await lake.list("reports/")).toEqual([{ path: "reports/date=2026-11-27/hour=09/a.parquet", size: 3 }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("local: removeLeftovers keeps the file another running process is writing (a sink, while an analyzer starts)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "acu-local-lake-shared-"));
  const writer = Bun.spawn({ cmd: ["sleep", "30"] });
  try {
    const lake = new LocalLake(dir);
    await mkdir(join(dir, "reports/h"), { recursive: true });
    await writeFile(join(dir, `reports/h/live.parquet.${writer.pid}-0a1b2c3d.inprogress`), "being written");
    await writeFile(join(dir, `reports/h/old.parquet.${writer.pid}.inprogress`), "stale");
    const old = new Date(Date.now() - 11 * 60_000);
    await utimes(join(dir, `reports/h/old.parquet.${writer.pid}.inprogress`), old, old);
    expect(await lake.removeLeftovers()).toBe(1);
    expect(await readdir(join(dir, "reports/h"))).toEqual([`live.parquet.${writer.pid}-0a1b2c3d.inprogress`]);
  } finally {
    writer.kill(9);
    await rm(dir, { recursive: true, force: true });
  }
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const p = Bun.spawnSync({ cmd: ["true"] });
  return p.pid;
}

test("local: uri is a file:// URL under the root", () => {
  expect(new LocalLake(root).uri("reports/x.parquet")).toBe(`file://${join(root, "reports/x.parquet")}`);
});

test("local: ping resolves before the first file, even with no data dir yet (it makes the root); rejects where no folder can be", async () => {
  const dir = await mkdtemp(join(tmpdir(), "acu-local-lake-ping-"));
  try {
    await new LocalLake(join(dir, "data", "lake")).ping();
    expect(await readdir(join(dir, "data"))).toEqual(["lake"]);
    await writeFile(join(dir, "file"), "not a folder");
    await expect(new LocalLake(join(dir, "file")).ping()).rejects.toThrow("is not a folder");
    await expect(new LocalLake(join(dir, "file", "lake")).ping()).rejects.toThrow("ENOTDIR");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
