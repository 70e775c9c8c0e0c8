import { afterAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { cleanup, eventually, operator, postReports, ROOT, startAcu, tempDir, viewer } from "./support/acu.ts";
import { readLake } from "./support/lake.ts";

/** dist/acu runs the demo from an empty directory, with no Bun and no node_modules beside it. */
const dir = tempDir("binary");
afterAll(() => cleanup(dir));

test("bun run build makes dist/acu, which runs the whole demo from an empty directory", async () => {
  const build = Bun.spawnSync({ cmd: [process.execPath, "run", "build"], cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(build.exitCode, build.stderr.toString()).toBe(0);
  expect(existsSync(join(ROOT, "dist/acu"))).toBe(true);
  // A directory holding nothing but the binary; PATH without bun.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  copyFileSync(join(ROOT, "dist/acu"), join(bin, "acu"));
  Bun.spawnSync({ cmd: ["chmod", "+x", join(bin, "acu")] });
  const help = Bun.spawnSync({ cmd: [join(bin, "acu"), "--help"], cwd: dir, env: { PATH: "/usr/bin:/bin" } });
  expect(help.stdout.toString()).toContain("--role");
  const acu = await startAcu({ dataDir: join(dir, "data"), cmd: [join(bin, "acu")], cwd: dir, env: { PATH: "/usr/bin:/bin", ACU_SINK_FLUSH_MS: "200" } });
  try {
    const r = await postReports(acu.url, [{ studentId: "s", exerciseId: "bin.ex", score: 3, latitude: 47.2, longitude: -1.55, timestamp: 1764230400000 }]);
    expect(r.status).toBe(202);
    const page = await fetch(`${acu.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("acu");
    expect((await fetch(`${acu.url}/assets/app.js`)).status).toBe(200);
    // Token commands run from the binary on the same data dir, beside the server.
    const created = Bun.spawnSync({
      cmd: [join(bin, "acu"), "token", "create", "--scope", "viewer"],
      cwd: dir,
      env: { PATH: "/usr/bin:/bin", ACU_DATA_DIR: join(dir, "data") },
    });
    expect(created.exitCode).toBe(0);
    const tok = (JSON.parse(created.stdout.toString()) as { token: string }).token;
    await eventually(
      "the binary's token to be accepted",
      async () => (await fetch(`${acu.url}/api/thresholds`, { headers: { authorization: `Bearer ${tok}` } })).status === 200,
      5000,
    );
    // The Parquet codec and PGlite both run from the binary's embedded files.
    await eventually("the report in the lake", async () => (await readLake(join(dir, "data"), "reports")).rows.length === 1);
    const run = (await (await fetch(`${acu.url}/api/analytics/runs`, { method: "POST", headers: operator })).json()) as { outcome: string; rows: number };
    expect(run.outcome).toBe("succeeded");
    expect(run.rows).toBe(1);
    const ex = (await (await fetch(`${acu.url}/api/analytics/exercises`, { headers: viewer })).json()) as {
      exercises: Array<{ exerciseId: string; reports: number }>;
    };
    expect(ex.exercises).toEqual([expect.objectContaining({ exerciseId: "bin.ex", reports: 1 })]);
  } finally {
    expect(await acu.stop()).toBe(0);
  }
});
