/** `acu analyze [--rebuild]`: one analyzer run on the configured engines, its summary printed as JSON. */
import { startAnalyzer } from "../../modules/analyzer/index.ts";
import type { Logger } from "../log.ts";
import type { AnalyticsEngine } from "../ports/analytics-engine.ts";
import type { Lake } from "../ports/lake.ts";
import type { Warehouse } from "../ports/warehouse.ts";

export interface AnalyzeDeps {
  lake: Lake;
  warehouse: Warehouse;
  engine: AnalyticsEngine;
  cellSizeDeg: number;
  trendPeriodSeconds?: number;
  log: Logger;
}

/** A run that does not succeed fails the command (exit 1) after its summary is printed. */
export async function runAnalyzeCommand(deps: AnalyzeDeps, rebuild: boolean, print: (line: string) => void): Promise<void> {
  const analyzer = await startAnalyzer({ ...deps, schedule: null });
  try {
    const summary = rebuild ? await analyzer.rebuild() : await analyzer.runNow();
    print(JSON.stringify(summary));
    if (summary.outcome !== "succeeded") throw new Error(`the analyzer run failed: ${summary.error ?? "no reason given"}`);
  } finally {
    await analyzer.stop();
  }
}
