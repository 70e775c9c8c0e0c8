import { deploymentOrderFor, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { decodeReport } from "../../src/domain/report.ts";
import { isFailure, thresholdFor, type ThresholdSnapshot } from "../../src/domain/threshold.ts";
import type { BusRecord } from "../../src/ports/bus.ts";
import { deadLetterOf, type DeadLetter } from "../dead-letters.ts";

export type { DeadLetter } from "../dead-letters.ts";

/** Decides one batch: a deployment order for each report below its threshold, a dead letter for each malformed message. */
export function judgeBatch(records: BusRecord[], snap: ThresholdSnapshot, now: number): { orders: DeploymentOrder[]; deadLetters: DeadLetter[] } {
  const orders: DeploymentOrder[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const r of records) {
    let report;
    try {
      report = decodeReport(r.value);
    } catch (e) {
      deadLetters.push(deadLetterOf(r, (e as Error).message));
      continue;
    }
    const threshold = thresholdFor(snap, report.exerciseId);
    if (isFailure(report.score, threshold)) orders.push(deploymentOrderFor(report, threshold, now));
  }
  return { orders, deadLetters };
}
