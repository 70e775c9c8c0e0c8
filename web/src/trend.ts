/**
 * The trend panel's chart: failures per hour (or day) as bars, the success rate and the average score as
 * lines, the exercise's threshold as a line and its changes as markers — inline SVG drawn from
 * trend-model.ts's geometry at the width the panel has, with a text equivalent (title, desc, and the
 * figures as a table in a disclosure).
 */
import type { Trends } from "./api.ts";
import { TREND_COLORS } from "./colors.ts";
import { clear, h, svg } from "./dom.ts";
import { fmtAxis, fmtBucket, fmtInt, fmtNum, fmtPct, fmtSince, t, type Key } from "./i18n.ts";
import { trendGeometry } from "./trend-model.ts";

const HEIGHT = 240;
const PHONE_HEIGHT = 200;

export class TrendChart {
  private trends: Trends | null = null;
  private drawnWidth = 0;

  constructor(
    private readonly els: { chart: HTMLElement; legend: HTMLElement; table: HTMLElement; note: HTMLElement; error: HTMLElement },
    /** "bsq · Bretagne · last 24 hours, per hour": what the chart is of, in words. */
    private readonly scope: () => { ex: string; region: string; range: string },
  ) {
    // Drawn at the width it is given (text stays its size on a phone): again when that changes.
    new ResizeObserver(() => {
      if (Math.abs(this.els.chart.clientWidth - this.drawnWidth) > 1) this.render();
    }).observe(els.chart);
  }

  get current(): Trends | null {
    return this.trends;
  }

  set(trends: Trends): void {
    this.trends = trends;
    this.els.error.hidden = true;
    this.render();
  }

  /** The API refused (e.g. 409: trend tables incomplete): its message instead of a chart. */
  fail(message: string): void {
    this.trends = null;
    this.els.error.textContent = t("trUnavailable", { error: message });
    this.els.error.hidden = false;
    this.render();
  }

  render(): void {
    const { chart, legend, table, note } = this.els;
    clear(chart);
    clear(legend);
    clear(table);
    note.textContent = "";
    const tr = this.trends;
    if (!tr) return;
    const width = Math.max(280, chart.clientWidth || 640);
    this.drawnWidth = chart.clientWidth;
    const g = trendGeometry(tr, { width, height: width < 500 ? PHONE_HEIGHT : HEIGHT, margin: { left: 40, right: 34, top: 16, bottom: 26 } });
    const scope = this.scope();
    const label = t("trAria", scope);
    const el = svg("svg", {
      class: "trend",
      viewBox: `0 0 ${g.width} ${g.height}`,
      width: g.width,
      height: g.height,
      role: "img",
      "aria-label": label,
      "aria-describedby": "tr-svg-desc",
      "data-exercise": tr.exerciseId ?? "",
      "data-region": tr.region ?? "",
      "data-bucket": tr.bucket,
      "data-from": tr.from,
      "data-to": tr.to,
    });
    el.append(svg("title", {}, label), svg("desc", { id: "tr-svg-desc" }, this.describe(tr, g.summary)));

    // Grid and scales: percent on the left (success rate, score, threshold), failures on the right.
    const grid = svg("g", { class: "grid", "aria-hidden": "true" });
    g.percentTicks.forEach((tick, i) => {
      const f = g.failureTicks[i]!;
      grid.append(
        svg("line", { x1: g.plot.left, x2: g.plot.right, y1: tick.at, y2: tick.at }),
        svg("text", { x: g.plot.left - 6, y: tick.at + 4, class: "left" }, `${tick.value} %`),
        svg("text", { x: g.plot.right + 6, y: f.at + 4, class: "right" }, fmtInt(f.value)),
      );
    });
    for (const tick of g.timeTicks) {
      grid.append(
        svg("line", { class: "tick", x1: tick.x, x2: tick.x, y1: g.plot.bottom, y2: g.plot.bottom + 4 }),
        svg("text", { class: "time", x: tick.x, y: g.plot.bottom + 16 }, fmtAxis(tick.start, tr.bucket)),
      );
    }
    el.append(grid);

    // One group per bucket: a hover target with the bucket's figures, and its failures bar.
    const bars = svg("g", { class: "bars" });
    for (const b of g.bars) {
      const text = t("trBucketTitle", {
        time: fmtBucket(b.start, tr.bucket),
        reports: fmtInt(b.reports),
        failures: fmtInt(b.failures),
        rate: b.successRate === null ? "–" : fmtPct(b.successRate),
        avg: b.averageScore === null ? "–" : fmtNum(b.averageScore),
      });
      bars.append(
        svg(
          "g",
          {
            class: "trend-bucket",
            "data-start": b.start,
            "data-reports": b.reports,
            "data-failures": b.failures,
            "data-success-rate": b.successRate ?? "",
            "data-average-score": b.averageScore ?? "",
          },
          svg("title", {}, text),
          svg("rect", { class: "slot", x: b.slotX, y: g.plot.top, width: b.slotWidth, height: g.plot.bottom - g.plot.top }),
          b.height > 0 && svg("rect", { class: "trend-bar", x: b.x, y: b.y, width: b.width, height: b.height, fill: TREND_COLORS.failures }),
        ),
      );
    }
    el.append(bars);

    if (g.threshold) {
      const th = t("trThreshold", { th: fmtInt(g.threshold.value) });
      el.append(
        svg(
          "g",
          { class: "trend-threshold", "data-threshold": g.threshold.value, "aria-hidden": "true" },
          svg("line", { x1: g.plot.left, x2: g.plot.right, y1: g.threshold.y, y2: g.threshold.y, stroke: TREND_COLORS.threshold }),
          // At the left, where the oldest (and usually emptiest) hours are; above the line unless that leaves the plot.
          svg("text", { class: "label", x: g.plot.left + 4, y: g.threshold.y - 4 < g.plot.top + 10 ? g.threshold.y + 13 : g.threshold.y - 4 }, th),
        ),
      );
    }
    for (const c of g.changes) {
      el.append(
        svg(
          "g",
          { class: "trend-change", "data-at": c.at, "data-threshold": c.threshold },
          svg("title", {}, t("trChangeAt", { time: fmtSince(c.at), th: fmtInt(c.threshold) })),
          svg("line", { x1: c.x, x2: c.x, y1: g.plot.top, y2: g.plot.bottom, stroke: TREND_COLORS.threshold }),
          svg("path", { d: `M${c.x - 5} ${g.plot.top - 8}h10l-5 7z`, fill: TREND_COLORS.threshold }),
          // Right of the marker, or left of it near the plot's right edge.
          c.x > g.plot.right - 60
            ? svg("text", { class: "label end", x: c.x - 8, y: g.plot.top + 4 }, t("trChangeTo", { th: fmtInt(c.threshold) }))
            : svg("text", { class: "label", x: c.x + 8, y: g.plot.top + 4 }, t("trChangeTo", { th: fmtInt(c.threshold) })),
        ),
      );
    }

    el.append(
      svg("path", { class: "trend-score", d: g.score.path, stroke: TREND_COLORS.score }),
      svg("path", { class: "trend-rate", d: g.rate.path, stroke: TREND_COLORS.rate }),
      svg(
        "g",
        { class: "points", "aria-hidden": "true" },
        ...g.score.points.map((p) => svg("circle", { class: "score-point", cx: p.x, cy: p.y, r: 2.4, stroke: TREND_COLORS.score })),
        ...g.rate.points.map((p) =>
          svg("circle", { class: "trend-point", cx: p.x, cy: p.y, r: 3, fill: TREND_COLORS.rate, "data-start": p.start, "data-value": p.value }),
        ),
      ),
    );
    chart.append(el);

    if (g.summary.reports === 0) note.textContent = t("trNone");
    this.renderLegend(tr);
    this.renderTable(tr);
  }

  private describe(tr: Trends, s: ReturnType<typeof trendGeometry>["summary"]): string {
    const unit = t(`trUnit_${tr.bucket}` as Key);
    const parts = [
      s.reports === 0
        ? t("trDescEmpty", { n: s.buckets, unit })
        : t("trDescCounts", {
            with: s.bucketsWithReports,
            n: s.buckets,
            unit,
            reports: fmtInt(s.reports),
            failures: fmtInt(s.failures),
            rate: s.successRate === null ? "–" : fmtPct(s.successRate),
          }),
    ];
    if (tr.threshold !== null) parts.push(t("trDescThreshold", { th: fmtInt(tr.threshold) }));
    if (s.worst) parts.push(t("trDescWorst", { n: fmtInt(s.worst.failures), time: fmtBucket(s.worst.start, tr.bucket) }));
    if (tr.thresholdChanges.length)
      parts.push(t("trDescChanges", { list: tr.thresholdChanges.map((c) => t("trChangeAt", { time: fmtSince(c.at), th: fmtInt(c.threshold) })).join(", ") }));
    return parts.join(" ");
  }

  private renderLegend(tr: Trends): void {
    const item = (swatch: HTMLElement, text: string) => h("span", { class: "legend-item" }, swatch, text);
    const line = (color: string, dashed = false) =>
      h("span", { class: dashed ? "swatch line dashed" : "swatch line", style: `border-top-color: ${color}`, "aria-hidden": "true" });
    this.els.legend.append(
      item(h("span", { class: "swatch", style: `background: ${TREND_COLORS.failures}`, "aria-hidden": "true" }), t(`trFailures_${tr.bucket}` as Key)),
      item(line(TREND_COLORS.rate), t("trRate")),
      item(line(TREND_COLORS.score, true), t("trScore")),
      tr.threshold === null
        ? h("span", { class: "legend-item muted" }, t("trNoThreshold"))
        : item(line(TREND_COLORS.threshold), t("trThreshold", { th: fmtInt(tr.threshold) })),
    );
    if (tr.thresholdChanges.length) this.els.legend.append(item(h("span", { class: "swatch change", "aria-hidden": "true" }), t("trChange")));
  }

  private renderTable(tr: Trends): void {
    const rows = tr.buckets.map((b) =>
      h(
        "tr",
        { "data-start": b.start },
        h("th", { scope: "row" }, h("time", { datetime: b.start }, fmtBucket(b.start, tr.bucket))),
        h("td", { class: "num", "data-figure": "reports" }, fmtInt(b.reports)),
        h("td", { class: "num", "data-figure": "failures" }, fmtInt(b.failures)),
        h("td", { class: "num", "data-figure": "successRate" }, b.successRate === null ? "–" : fmtPct(b.successRate)),
        h("td", { class: "num", "data-figure": "averageScore" }, b.averageScore === null ? "–" : fmtNum(b.averageScore)),
      ),
    );
    const head = h(
      "tr",
      {},
      ...[`trCol_${tr.bucket}`, "colReports", "colFailures", "colSuccess", "colAverage"].map((k, i) =>
        h("th", { scope: "col", class: i ? "num" : null }, t(k as Key)),
      ),
    );
    const changes = tr.thresholdChanges.map((c) => h("li", { "data-at": c.at }, t("trChangeAt", { time: fmtSince(c.at), th: fmtInt(c.threshold) })));
    this.els.table.append(
      h("summary", {}, t("trTable")),
      h("div", { class: "scroll" }, h("table", { class: "data trend-table" }, h("thead", {}, head), h("tbody", {}, ...rows))),
    );
    if (changes.length) this.els.table.append(h("ul", { class: "trend-changes" }, ...changes));
  }
}
