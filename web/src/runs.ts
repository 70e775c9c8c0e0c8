/** Analyzer status: the last run, its engine and duration, and when the schedule starts the next one. */
import type { AnalyzerRun, AnalyzerSchedule } from "./api.ts";
import { clear, h } from "./dom.ts";
import { fmtInt, fmtTime, t, type Key } from "./i18n.ts";

/** The next scheduled start (epoch ms) as the API says it; null when the analyzer runs on demand only. */
export function nextRun(schedule: AnalyzerSchedule): number | null {
  const at = schedule.nextRunAt === null ? Number.NaN : Date.parse(schedule.nextRunAt);
  return Number.isFinite(at) ? at : null;
}

export function analyzerSummary(runs: AnalyzerRun[], schedule: AnalyzerSchedule): string {
  const last = runs[0];
  if (!last) return t("anNever");
  const next = nextRun(schedule);
  const nextText = next ? t("anNext", { time: fmtTime(next) }) : t("anOnDemand");
  if (last.outcome === "running") return `${t("anRunning", { time: fmtTime(last.startedAt) })} · ${nextText}`;
  if (last.outcome === "failed") return `${t("anFailed", { time: fmtTime(last.startedAt) })} · ${nextText}`;
  return `${t("anLast", { time: fmtTime(last.finishedAt ?? last.startedAt), engine: last.engine, ms: fmtInt(last.durationMs ?? 0) })} · ${nextText}`;
}

export function renderRuns(
  els: { tbody: HTMLElement; last: HTMLElement; next: HTMLElement; empty: HTMLElement },
  runs: AnalyzerRun[],
  schedule: AnalyzerSchedule,
): void {
  clear(els.tbody);
  els.empty.hidden = runs.length > 0;
  const last = runs[0];
  els.last.textContent = last
    ? `${fmtTime(last.finishedAt ?? last.startedAt)} · ${last.engine} · ${last.durationMs === null ? "…" : `${fmtInt(last.durationMs)} ms`} · ${t(`outcome_${last.outcome}` as Key)}`
    : "–";
  const next = nextRun(schedule);
  els.next.textContent = next ? fmtTime(next) : t("onDemand");
  for (const r of runs) {
    els.tbody.append(
      h(
        "tr",
        { class: r.outcome === "failed" ? "failed" : null, title: r.error ?? undefined },
        h("td", {}, fmtTime(r.startedAt)),
        h("td", {}, r.engine),
        h("td", { class: "num" }, fmtInt(r.files)),
        h("td", { class: "num" }, fmtInt(r.rows)),
        h("td", { class: "num" }, r.durationMs === null ? "…" : `${fmtInt(r.durationMs)} ms`),
        h("td", {}, h("span", { class: `outcome ${r.outcome}` }, t(`outcome_${r.outcome}` as Key))),
      ),
    );
  }
}
