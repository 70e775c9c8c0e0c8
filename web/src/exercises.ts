/** Success rate per exercise: a sortable, searchable table and a bar chart of the same rows. */
import type { ExerciseStat } from "./api.ts";
import { clear, h } from "./dom.ts";
import { fmtInt, fmtNum, fmtPct, t, type Key } from "./i18n.ts";

type Col = "exerciseId" | "reports" | "averageScore" | "successRate" | "failures" | "threshold";
export type ChartMetric = "averageScore" | "successRate" | "failures" | "reports";

const COLS: { key: Col; label: Key; numeric: boolean }[] = [
  { key: "exerciseId", label: "colExercise", numeric: false },
  { key: "reports", label: "colReports", numeric: true },
  { key: "averageScore", label: "colAverage", numeric: true },
  { key: "successRate", label: "colSuccess", numeric: true },
  { key: "failures", label: "colFailures", numeric: true },
  { key: "threshold", label: "colThreshold", numeric: true },
];
export const CHART_METRICS: { value: ChartMetric; label: Key }[] = [
  { value: "averageScore", label: "colAverage" },
  { value: "successRate", label: "colSuccess" },
  { value: "failures", label: "colFailures" },
  { value: "reports", label: "colReports" },
];

export const successRate = (e: ExerciseStat) => (e.reports > 0 ? (e.reports - e.failures) / e.reports : 0);
const value = (e: ExerciseStat, c: Col | ChartMetric): number | string => (c === "successRate" ? successRate(e) : e[c]);

export class ExercisesPanel {
  private rows: ExerciseStat[] = [];
  private sort: { col: Col; dir: 1 | -1 } = { col: "failures", dir: -1 };
  private selected: string | null = null;
  metric: ChartMetric = "averageScore";

  constructor(
    private readonly els: { thead: HTMLElement; tbody: HTMLElement; chart: HTMLElement; search: HTMLInputElement; empty: HTMLElement },
    private readonly onSelect: (exerciseId: string) => void,
  ) {
    els.search.addEventListener("input", () => this.render());
  }

  set(rows: ExerciseStat[]): void {
    this.rows = rows;
    this.render();
  }

  setSelected(id: string | null): void {
    this.selected = id;
    this.render();
  }

  private visible(): ExerciseStat[] {
    const q = this.els.search.value.trim().toLowerCase();
    const { col, dir } = this.sort;
    return this.rows
      .filter((e) => !q || e.exerciseId.toLowerCase().includes(q))
      .sort((a, b) => {
        const x = value(a, col),
          y = value(b, col);
        const c = typeof x === "string" ? x.localeCompare(String(y)) : x - (y as number);
        return c * dir || a.exerciseId.localeCompare(b.exerciseId);
      });
  }

  render(): void {
    this.renderHead();
    const rows = this.visible();
    const { tbody, empty } = this.els;
    clear(tbody);
    const q = this.els.search.value.trim();
    empty.textContent = this.rows.length === 0 ? t("exEmpty") : rows.length === 0 ? t("exNoMatch", { q }) : "";
    empty.hidden = empty.textContent === "";
    for (const e of rows) {
      const below = e.averageScore < e.threshold;
      const pick = h(
        "button",
        { type: "button", class: "link", "aria-label": t("exSelect", { ex: e.exerciseId }), "aria-pressed": e.exerciseId === this.selected ? "true" : "false" },
        e.exerciseId,
      );
      pick.addEventListener("click", () => this.onSelect(e.exerciseId));
      const tr = h(
        "tr",
        { "data-exercise": e.exerciseId, class: e.exerciseId === this.selected ? "selected" : null },
        h("th", { scope: "row" }, pick),
        h("td", { class: "num" }, fmtInt(e.reports)),
        h("td", { class: below ? "num warn" : "num" }, fmtNum(e.averageScore)),
        h("td", { class: "num" }, fmtPct(successRate(e))),
        h("td", { class: "num" }, fmtInt(e.failures)),
        h("td", { class: "num" }, `${e.threshold} %`),
      );
      tr.addEventListener("click", (ev) => {
        if (ev.target !== pick) this.onSelect(e.exerciseId);
      });
      tbody.append(tr);
    }
    this.renderChart(rows);
  }

  private renderHead(): void {
    const { thead } = this.els;
    clear(thead);
    const tr = h("tr");
    for (const c of COLS) {
      const active = this.sort.col === c.key;
      const label = t(c.label);
      const b = h(
        "button",
        { type: "button", class: "sort", title: t("sortBy", { col: label }) },
        label,
        h("span", { class: "arrow", "aria-hidden": "true" }, active ? (this.sort.dir === 1 ? "▲" : "▼") : ""),
      );
      b.addEventListener("click", () => {
        this.sort = active ? { col: c.key, dir: this.sort.dir === 1 ? -1 : 1 } : { col: c.key, dir: c.numeric ? -1 : 1 };
        this.render();
        (this.els.thead.querySelector(`[data-col="${c.key}"] button`) as HTMLButtonElement | null)?.focus();
      });
      tr.append(
        h(
          "th",
          {
            scope: "col",
            class: c.numeric ? "num" : null,
            "data-col": c.key,
            "aria-sort": active ? (this.sort.dir === 1 ? "ascending" : "descending") : "none",
          },
          b,
        ),
      );
    }
    thead.append(tr);
  }

  private renderChart(rows: ExerciseStat[]): void {
    const { chart } = this.els;
    clear(chart);
    const m = this.metric;
    const label = t(CHART_METRICS.find((x) => x.value === m)!.label);
    chart.setAttribute("aria-label", t("chartAria", { metric: label }));
    const max = m === "averageScore" || m === "successRate" ? (m === "averageScore" ? 100 : 1) : Math.max(1, ...rows.map((e) => value(e, m) as number));
    for (const e of rows) {
      const v = value(e, m) as number;
      const text = m === "averageScore" ? fmtNum(v) : m === "successRate" ? fmtPct(v) : fmtInt(v);
      const bad = m === "averageScore" ? v < e.threshold : m === "successRate" ? v < 0.5 : false;
      const track = h("span", { class: "track" }, h("span", { class: bad ? "fill bad" : "fill", style: `width: ${((100 * v) / max).toFixed(2)}%` }));
      if (m === "averageScore") track.append(h("span", { class: "mark", style: `left: ${e.threshold}%`, title: `${t("chartThreshold")} ${e.threshold} %` }));
      const row = h(
        "button",
        {
          type: "button",
          class: e.exerciseId === this.selected ? "bar selected" : "bar",
          "data-exercise": e.exerciseId,
          "data-value": v,
          "aria-label": `${e.exerciseId}: ${label} ${text}`,
        },
        h("span", { class: "name" }, e.exerciseId),
        track,
        h("span", { class: "val" }, text),
      );
      row.addEventListener("click", () => this.onSelect(e.exerciseId));
      chart.append(row);
    }
  }
}
