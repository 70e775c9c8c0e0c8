import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileDispatchStore } from "../../src/adapters/embedded/file-dispatch-store.ts";
import type { DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { silentLogger } from "../../src/log.ts";
import { DispatchService } from "../../modules/dispatch/index.ts";
import { OrderIntake } from "../../modules/dispatch/intake.ts";

/**
 * For the dispatch route tests: a real DispatchService over the embedded store in a temporary folder, and
 * deployment orders taken in as the dispatch role does (without its assigner, so tests assign themselves).
 */
export async function dispatchFixture(historySize?: number) {
  const dir = mkdtempSync(join(tmpdir(), "acu-dispatch-routes-"));
  const store = await FileDispatchStore.open(join(dir, "dispatch"));
  const service = await DispatchService.open(store, silentLogger, { historySize });
  const intake = new OrderIntake(service.writer);
  let n = 0;
  const order = (studentId: string, o: Partial<DeploymentOrder> = {}): DeploymentOrder => {
    const i = n++;
    return {
      alertId: `alert-${studentId}-${i}`,
      reportId: `r-${studentId}-${i}`,
      studentId,
      exerciseId: "bsq",
      score: 12,
      threshold: 50,
      latitude: 45.76,
      longitude: 4.83,
      region: "Auvergne-Rhône-Alpes",
      reportedAt: 1_764_622_000_000 + i,
      raisedAt: 1_764_622_000_100 + i,
      ...o,
    };
  };
  return {
    service,
    order,
    /** Opens (or attaches to) the student's incident; its id. */
    async raise(studentId: string, o: Partial<DeploymentOrder> = {}): Promise<string> {
      await intake.take([order(studentId, o)]);
      const inc = (await service.listIncidents({ states: ["open", "assigned", "acknowledged", "en-route", "on-site"] })).find((i) => i.studentId === studentId);
      if (!inc) throw new Error(`no incident for ${studentId}`);
      return inc.id;
    },
    async close() {
      await service.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
