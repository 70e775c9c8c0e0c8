import { afterAll, expect, test, setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
import { cleanup, postReports, startAcu, tempDir } from "./support/acu.ts";
import { readLake } from "./support/lake.ts";

const dir = tempDir("shutdown");
afterAll(() => cleanup(dir));

test("SIGTERM: in-flight work is finished and committed, exit 0 within 10 s", async () => {
  // A long flush age: only the shutdown can have written these reports to the lake.
  const acu = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "600000" } });
  const batch = Array.from({ length: 500 }, (_, i) => ({
    studentId: `s${i}`,
    exerciseId: "c01.ex00",
    score: i % 100,
    latitude: 48.85,
    longitude: 2.35,
    timestamp: 1764230400000 + i,
  }));
  expect((await postReports(acu.url, batch)).status).toBe(202);
  await Bun.sleep(300);
  const t0 = Date.now();
  const code = await acu.stop("SIGTERM");
  expect(code).toBe(0);
  expect(Date.now() - t0).toBeLessThan(10_000);
  const lake = await readLake(dir, "reports");
  expect(lake.rows.length).toBe(500);
  // The restart resumes after what was committed: nothing is written twice.
  const again = await startAcu({ dataDir: dir, env: { ACU_SINK_FLUSH_MS: "200" } });
  await Bun.sleep(1500);
  expect(await again.stop("SIGINT")).toBe(0);
  expect((await readLake(dir, "reports")).rows.length).toBe(500);
});

test("a second process cannot take over a data dir in use", async () => {
  const d = tempDir("owned");
  const acu = await startAcu({ dataDir: d });
  try {
    await expect(startAcu({ dataDir: d, args: ["--role=alert"] })).rejects.toThrow(/in use by process/);
  } finally {
    await acu.stop();
    cleanup(d);
  }
});
