import { z } from "zod";
import { reportKey, type Report } from "./report.ts";

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

/**
 * `alert-` and 32 hex digits of SHA-256 of the student and report ids: a report redelivered or resent never
 * yields a second, different order (the alert role replays from the bus), yet two students whose laptops
 * chose the same report id get an order each. Report ids are the laptops', unique per student only.
 */
export function alertIdFor(studentId: string, reportId: string): string {
  return `alert-${Bun.CryptoHasher.hash("sha256", reportKey(studentId, reportId), "hex").slice(0, 32)}`;
}

export function deploymentOrderFor(r: Report, threshold: number, raisedAt: number): DeploymentOrder {
  return {
    alertId: alertIdFor(r.studentId, r.reportId),
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

/**
 * A deployment order as readers that act on it (dispatch) require it: every field present and in range.
 * Orders are written by the alert role from validated reports; this guards against anything else on the topic.
 */
export const deploymentOrderSchema = z.object({
  alertId: z.string().min(1).max(160),
  reportId: z.string().min(1).max(64),
  studentId: z.string().min(1).max(64),
  exerciseId: z.string().min(1).max(64),
  score: z.number().min(0).max(100),
  threshold: z.number().min(0).max(100),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  region: z.string().min(1).max(64),
  reportedAt: z.number().nonnegative(),
  raisedAt: z.number().nonnegative(),
});

/** Decodes and checks an order; throws with the first problem named. */
export function decodeCheckedDeploymentOrder(bytes: Uint8Array | string): DeploymentOrder {
  const r = deploymentOrderSchema.safeParse(decodeDeploymentOrder(bytes));
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`not a deployment order: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}
