import type { Report } from "./report.ts";

/** An alert: the order to send a patrol of assistants to a failing student. Kept as a deployment report in the lake. */
export interface DeploymentOrder {
  alertId: string;
  reportId: string;
  studentId: string;
  exerciseId: string;
  score: number;
  threshold: number;
  latitude: number;
  longitude: number;
  region: string;
  reportedAt: number;
  raisedAt: number;
}

/** Derived from the report id so a redelivered report never yields a second, different order. */
export function alertIdFor(reportId: string): string {
  return `alert-${reportId}`;
}

export function deploymentOrderFor(r: Report, threshold: number, raisedAt: number): DeploymentOrder {
  return {
    alertId: alertIdFor(r.reportId),
    reportId: r.reportId,
    studentId: r.studentId,
    exerciseId: r.exerciseId,
    score: r.score,
    threshold,
    latitude: r.latitude,
    longitude: r.longitude,
    region: r.region,
    reportedAt: r.timestamp,
    raisedAt,
  };
}

export function encodeDeploymentOrder(o: DeploymentOrder): string {
  return JSON.stringify(o);
}

export function decodeDeploymentOrder(bytes: Uint8Array | string): DeploymentOrder {
  const text = typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes);
  const o = JSON.parse(text) as DeploymentOrder;
  if (typeof o?.alertId !== "string" || typeof o.reportId !== "string") throw new Error("not a deployment order");
  return o;
}
