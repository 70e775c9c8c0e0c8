import { deploymentOrderFor, type DeploymentOrder } from "../../src/domain/deployment-order.ts";
import { decodeReport } from "../../src/domain/report.ts";
import { isFailure, thresholdFor, type ThresholdSnapshot } from "../../src/domain/threshold.ts";
import type { BusRecord } from "../../src/ports/bus.ts";

export interface DeadLetter {
  reason: string;
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

/** Decides one batch: a deployment order for each report below its threshold, a dead letter for each malformed message. */
export function judgeBatch(records: BusRecord[], snap: ThresholdSnapshot, now: number): { orders: DeploymentOrder[]; deadLetters: DeadLetter[] } {
  const orders: DeploymentOrder[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const r of records) {
    let report;
    try {
      report = decodeReport(r.value);
    } catch (e) {
      deadLetters.push({
        reason: (e as Error).message,
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        value: Buffer.from(r.value).toString("base64"),
      });
      continue;
    }
    const threshold = thresholdFor(snap, report.exerciseId);
    if (isFailure(report.score, threshold)) orders.push(deploymentOrderFor(report, threshold, now));
  }
  return { orders, deadLetters };
}
