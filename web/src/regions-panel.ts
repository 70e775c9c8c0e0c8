/**
 * Ranking of the 13 regions for the selected exercise (or all), worst first by the map's shading; a region's
 * name picks it for the trend chart (again: all regions).
 */
import type { RegionStat } from "./api.ts";
import { clear, h } from "./dom.ts";
import { fmtInt, fmtNum, fmtPct, t } from "./i18n.ts";
import { REGION_NAMES, SHADINGS, formatRegionValue, regionValue, type Shading } from "./map.ts";
import { ABROAD_REGION, UNKNOWN_REGION } from "../../src/domain/regions.ts";

export function renderRegions(
  els: { tbody: HTMLElement; scope: HTMLElement; unknown: HTMLElement },
  stats: RegionStat[],
  shading: Shading,
  exercise: string | null,
  map: { fillOf(region: string): string; highlightRegion(region: string | null): void },
  pick: { region: string | null; onPick: (region: string) => void },
): void {
  const byName = new Map(stats.map((r) => [r.region, r]));
  const worseFirst = shading === "averageScore" ? 1 : -1;
  const ranked = REGION_NAMES.map((name) => ({ name, r: byName.get(name), v: regionValue(byName.get(name), shading) })).sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === null ? (b.v === null ? a.name.localeCompare(b.name) : 1) : -1;
    return (a.v - b.v) * worseFirst || a.name.localeCompare(b.name);
  });
  const metric = t(SHADINGS.find((s) => s.value === shading)!.label);
  els.scope.textContent = t("rgScope", { metric, ex: exercise ?? t("allExercises") });
  clear(els.tbody);
  ranked.forEach(({ name, r, v }, i) => {
    const picked = name === pick.region;
    const button = h(
      "button",
      { type: "button", class: "link", "aria-label": t("rgSelect", { region: name }), "aria-pressed": picked ? "true" : "false" },
      name,
    );
    button.addEventListener("click", () => pick.onPick(name));
    const tr = h(
      "tr",
      { "data-region": name, class: [v === null ? "muted" : "", picked ? "selected" : ""].join(" ").trim() || null },
      h("td", { class: "num rank" }, v === null ? "–" : i + 1),
      h(
        "th",
        { scope: "row" },
        h("span", { class: "key", style: `background: ${map.fillOf(name) || "#e3e6eb"}`, title: v === null ? undefined : formatRegionValue(v, shading) }),
        button,
      ),
      h("td", { class: "num" }, r ? fmtInt(r.reports) : "0"),
      h("td", { class: "num" }, r?.reports ? fmtNum(r.averageScore) : "–"),
      h("td", { class: "num" }, r ? fmtInt(r.failures) : "0"),
      h("td", { class: "num" }, r?.reports ? fmtPct(r.failures / r.reports) : "–"),
    );
    tr.addEventListener("mouseenter", () => map.highlightRegion(name));
    tr.addEventListener("mouseleave", () => map.highlightRegion(null));
    tr.addEventListener("click", (ev) => {
      if (ev.target !== button) pick.onPick(name);
    });
    els.tbody.append(tr);
  });
  const outside = (byName.get(ABROAD_REGION)?.reports ?? 0) + (byName.get(UNKNOWN_REGION)?.reports ?? 0);
  els.unknown.textContent = outside ? t("rgUnknown", { n: fmtInt(outside) }) : "";
  els.unknown.hidden = !els.unknown.textContent;
}
