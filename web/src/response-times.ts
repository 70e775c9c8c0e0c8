/** Response times per region (GET /api/analytics/response-times): count, p50 and p90 of each step. */
import type { ResponseStep, ResponseTime } from "./dispatch-api.ts";
import { clear, h } from "./dom.ts";
import { fmtDuration, fmtInt, t } from "./i18n.ts";

const STEPS: ResponseStep[] = ["acknowledge", "onSite", "resolve"];

/** The table's two header rows: the steps, then n / p50 / p90 under each. */
export function renderResponseHead(thead: HTMLElement): void {
  clear(thead);
  thead.append(
    h(
      "tr",
      {},
      h("th", { scope: "col", rowspan: 2 }, t("colRegion")),
      ...STEPS.map((s) => h("th", { scope: "colgroup", colspan: 3, class: "step" }, t(`step_${s}`))),
    ),
    h(
      "tr",
      {},
      ...STEPS.flatMap(() => [
        h("th", { scope: "col", class: "num" }, t("colN")),
        h("th", { scope: "col", class: "num" }, "p50"),
        h("th", { scope: "col", class: "num" }, "p90"),
      ]),
    ),
  );
}

export function renderResponseTimes(tbody: HTMLElement, empty: HTMLElement, rows: ResponseTime[]): void {
  const byRegion = new Map<string, Map<ResponseStep, ResponseTime>>();
  for (const r of rows) {
    const m = byRegion.get(r.region) ?? new Map<ResponseStep, ResponseTime>();
    m.set(r.step, r);
    byRegion.set(r.region, m);
  }
  clear(tbody);
  for (const region of [...byRegion.keys()].sort((a, b) => a.localeCompare(b))) {
    const steps = byRegion.get(region)!;
    const cells = STEPS.flatMap((s) => {
      const r = steps.get(s);
      const attrs = (k: string) => ({ class: "num", "data-step": s, "data-figure": k });
      if (!r || r.count === 0) return [h("td", attrs("count"), "0"), h("td", attrs("p50"), "–"), h("td", attrs("p90"), "–")];
      return [
        h("td", attrs("count"), fmtInt(r.count)),
        h("td", { ...attrs("p50"), "data-seconds": r.p50 }, fmtDuration(r.p50)),
        h("td", { ...attrs("p90"), "data-seconds": r.p90 }, fmtDuration(r.p90)),
      ];
    });
    tbody.append(h("tr", { "data-region": region }, h("th", { scope: "row" }, region === "unknown" ? "—" : region), ...cells));
  }
  empty.hidden = byRegion.size > 0;
}
