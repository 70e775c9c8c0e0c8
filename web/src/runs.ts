/** Analyzer status: the last run, its engine and duration, and when the next scheduled run should come. */
import type { AnalyzerRun } from "./api.ts";
import { clear, h } from "./dom.ts";
import { fmtInt, fmtTime, t, type Key } from "./i18n.ts";

/**
 * The API does not publish the schedule, so the next run is estimated from the last ones: when the gaps
 * between the latest starts agree (within 10 %), the next start is one more gap later.
 */
export function nextRunEstimate(runs: AnalyzerRun[], now = Date.now()): number | null {
  const starts = runs
    .map((r) => Date.parse(r.startedAt))
    .filter(Number.isFinite)
    .slice(0, 4);
  if (starts.length < 3) return null;
  const gaps = starts.slice(0, -1).map((s, i) => s - starts[i + 1]!);
  const gap = gaps[0]!;
  if (gap < 5_000 || gaps.some((g) => Math.abs(g - gap) > gap * 0.1)) return null;
  let next = starts[0]! + gap;
  // Scheduled runs start on the dot: round to the second, and skip runs that should already have started.
  next = Math.round(next / 1000) * 1000;
  while (next < now - 2_000) next += gap;
  return next;
}

export function analyzerSummary(runs: AnalyzerRun[]): string {
  const last = runs[0];
  if (!last) return t("anNever");
  const next = nextRunEstimate(runs);
  const nextText = next ? t("anNext", { time: fmtTime(next) }) : t("anOnDemand");
  if (last.outcome === "running") return `${t("anRunning", { time: fmtTime(last.startedAt) })} · ${nextText}`;
  if (last.outcome === "failed") return `${t("anFailed", { time: fmtTime(last.startedAt) })} · ${nextText}`;
  return `${t("anLast", { time: fmtTime(last.finishedAt ?? last.startedAt), engine: last.engine, ms: fmtInt(last.durationMs ?? 0) })} · ${nextText}`;
}

export function renderRuns(els: { tbody: HTMLElement; last: HTMLElement; next: HTMLElement; empty: HTMLElement }, runs: AnalyzerRun[]): void {
  clear(els.tbody);
  els.empty.hidden = runs.length > 0;
  const last = runs[0];
  els.last.textContent = last
    ? `${fmtTime(last.finishedAt ?? last.startedAt)} · ${last.engine} · ${last.durationMs === null ? "…" : `${fmtInt(last.durationMs)} ms`} · ${t(`outcome_${last.outcome}` as Key)}`
    : "–";
  const next = nextRunEstimate(runs);
  els.next.textContent = next ? `≈ ${fmtTime(next)}` : t("onDemand");
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
