/**
 * The acu dashboard: live deployment orders over WebSocket, analytics polled from the API (the exercises,
 * regions and hotspots over the window the switch picks; the trend of the selected exercise and region),
 * thresholds edited with the operator token, and dispatch — incidents, patrols on the map, response times
 * (dispatch-panels.ts). Bundled by web/build.ts into /assets/app.js.
 */
import {
  ApiError,
  api,
  downloadCsv,
  q,
  trendsPath,
  WINDOWS,
  type AnalyticsWindow,
  type AnalyzerRun,
  type AnalyzerSchedule,
  type DeploymentOrder,
  type ExerciseStats,
  type Hotspots,
  type RegionStat,
  type Thresholds,
  type TrendBucket,
  type TrendParams,
  type WindowCover,
} from "./api.ts";
import { DispatchPanels } from "./dispatch-panels.ts";
import { byId, clear, h } from "./dom.ts";
import { CHART_METRICS, ExercisesPanel } from "./exercises.ts";
import { LiveFeed, type FeedState } from "./feed.ts";
import { ago, applyStatic, currentLang, fmtInt, fmtNum, fmtPct, fmtSince, fmtTime, setLang, t, type Key } from "./i18n.ts";
import { FranceMap, REGION_NAMES, SHADINGS, placeName, type Shading } from "./map.ts";
import { renderRegions } from "./regions-panel.ts";
import { analyzerSummary, renderRuns } from "./runs.ts";
import { ThresholdsPanel } from "./thresholds.ts";
import { onTokenChange, withToken } from "./token.ts";
import { TrendChart } from "./trend.ts";

const HOTSPOT_LIMIT = 40;
const RUNS_SHOWN = 10;
const FEED_ROWS = 150;
const POLL_RUNS_MS = 5_000;
const POLL_ANALYTICS_MS = 15_000;
const POLL_THRESHOLDS_MS = 10_000;

type Source = "exercises" | "regions" | "hotspots" | "thresholds" | "runs" | "trends";
const SOURCES: Source[] = ["exercises", "regions", "hotspots", "thresholds", "runs", "trends"];
const TREND_BUCKETS: TrendBucket[] = ["hour", "day"];
interface Freshness {
  at: number;
  error: string | null;
}

const state = {
  selected: null as string | null,
  /** The operator picked something (even "all"): no automatic choice any more. */
  userChose: false,
  shading: "averageScore" as Shading,
  /** What the exercises, regions and hotspots count: the last hour, the last 24 hours, or all reports. */
  window: "all" as AnalyticsWindow,
  /** What each windowed answer shown says it covers. */
  covers: { exercises: null, regions: null, hotspots: null } as Record<"exercises" | "regions" | "hotspots", WindowCover | null>,
  /** The region the trend chart is of (null: all). */
  region: null as string | null,
  trendBucket: "hour" as TrendBucket,
  exercises: null as ExerciseStats | null,
  regions: [] as RegionStat[],
  hotspots: null as Hotspots | null,
  thresholds: null as Thresholds | null,
  runs: [] as AnalyzerRun[],
  schedule: { cron: null, nextRunAt: null } as AnalyzerSchedule,
  feed: [] as DeploymentOrder[],
  arrivals: [] as number[],
  lastAlertAt: 0,
  conn: { kind: "connecting" } as FeedState,
  fresh: Object.fromEntries(SOURCES.map((k) => [k, { at: 0, error: null }])) as Record<Source, Freshness>,
};

// ---------------------------------------------------------------- loading

async function load<T>(source: Source, f: () => Promise<T>): Promise<T | null> {
  try {
    const v = await f();
    state.fresh[source] = { at: Date.now(), error: null };
    return v;
  } catch (e) {
    state.fresh[source].error = e instanceof Error ? e.message : String(e);
    return null;
  }
}

let selectionSeq = 0;
async function loadSelection(): Promise<void> {
  const seq = ++selectionSeq;
  const id = state.selected;
  const window = state.window;
  const [regions, hotspots] = await Promise.all([
    load("regions", () => api.regions(id, window)),
    id ? load("hotspots", () => api.hotspots(id, HOTSPOT_LIMIT, window)) : Promise.resolve(null),
  ]);
  if (seq !== selectionSeq) return; // a newer selection (or window) answered or will answer
  if (regions) {
    state.regions = regions.regions;
    state.covers.regions = regions.window ?? null;
  }
  state.hotspots = id ? (hotspots ?? state.hotspots) : null;
  if (hotspots) state.covers.hotspots = hotspots.window ?? null;
  renderSelection();
  // What the answers cover is said with them, not at the next tick of the freshness line.
  renderFreshness();
}

let exercisesSeq = 0;
async function loadAnalytics(): Promise<void> {
  const seq = ++exercisesSeq;
  const window = state.window;
  const ex = await load("exercises", () => api.exercises(window));
  if (seq !== exercisesSeq) return; // a newer window asked again
  if (ex) {
    state.exercises = ex;
    state.covers.exercises = ex.window ?? null;
    if (!state.userChose && state.selected === null && ex.exercises.length) {
      // Start where it matters most: the exercise with the most failures.
      state.selected = [...ex.exercises].sort((a, b) => b.failures - a.failures || a.exerciseId.localeCompare(b.exerciseId))[0]!.exerciseId;
    }
    renderExercises();
    // The table and the window it covers ("reports since 14:00") change together.
    renderFreshness();
  }
  // The trend is of the selection (perhaps just made above); it does not depend on the window.
  renderTrendControls();
  void loadTrend();
  await loadSelection();
}

let trendSeq = 0;
/** The trend of the selected exercise and region; a refusal (409: trend tables incomplete, 400) is shown in the panel. */
async function loadTrend(): Promise<void> {
  const seq = ++trendSeq;
  const chart = byId("tr-chart");
  chart.setAttribute("aria-busy", "true");
  try {
    const tr = await api.trends(trendParams());
    if (seq !== trendSeq) return;
    state.fresh.trends = { at: Date.now(), error: null };
    trend.set(tr);
  } catch (e) {
    if (seq !== trendSeq) return;
    if (e instanceof ApiError && (e.status === 409 || e.status === 400)) {
      state.fresh.trends = { at: Date.now(), error: null };
      trend.fail(e.message);
    } else state.fresh.trends.error = e instanceof Error ? e.message : String(e);
  } finally {
    if (seq === trendSeq) chart.removeAttribute("aria-busy");
  }
  renderFreshness();
}

async function loadThresholds(): Promise<void> {
  const th = await load("thresholds", () => api.thresholds());
  if (th) applyThresholds(th);
}

let lastAsOf: string | null | undefined;
async function loadRuns(): Promise<void> {
  const r = await load("runs", () => api.runs(RUNS_SHOWN));
  if (!r) return renderStatus();
  state.runs = r.runs;
  state.schedule = r.schedule;
  renderRunsPanel();
  // A run finished since the figures were fetched: fetch them again.
  const asOf = r.runs.find((x) => x.outcome === "succeeded")?.finishedAt ?? null;
  if (lastAsOf !== undefined && asOf !== lastAsOf) void loadAnalytics();
  lastAsOf = asOf;
}

function applyThresholds(th: Thresholds): void {
  state.thresholds = th;
  thresholds.set(th);
  renderExerciseChoices();
}

// ---------------------------------------------------------------- map

const map = new FranceMap(byId("map-wrap"), byId("map-tip"), byId("map-legend"));
const dispatch = new DispatchPanels(map);
const mapSelect = byId<HTMLSelectElement>("map-exercise");
mapSelect.addEventListener("change", () => select(mapSelect.value || null));

function select(id: string | null): void {
  state.userChose = true;
  if (id === state.selected) return;
  state.selected = id;
  state.hotspots = null;
  renderExercises();
  renderSelection();
  renderFeed(true);
  renderTrendControls();
  void loadSelection();
  void loadTrend();
}

// ---------------------------------------------------------------- window switch

const windowBox = byId("window");
function renderWindowControls(): void {
  for (const el of [...windowBox.querySelectorAll("label")]) el.remove();
  for (const w of WINDOWS) {
    const input = h("input", { type: "radio", name: "window", value: w, checked: w === state.window });
    input.addEventListener("change", () => setWindow(w));
    windowBox.append(h("label", {}, input, h("span", {}, t(`win_${w}` as Key))));
  }
}

function setWindow(w: AnalyticsWindow): void {
  if (w === state.window) return;
  state.window = w;
  // What is shown was counted over another window: say nothing of its coverage until the new answers.
  state.covers = { exercises: null, regions: null, hotspots: null };
  renderFreshness();
  void loadAnalytics();
}

/** "since 14:00" when the answer covers a window, "" for all. */
function sinceText(cover: WindowCover | null): string {
  return cover?.from ? t("sinceShort", { time: fmtSince(cover.from) }) : "";
}

function renderWindowSince(): void {
  const cover = state.covers.exercises;
  byId("window-since").textContent = cover?.from ? t("winSince", { time: fmtSince(cover.from) }) : cover?.window === "all" ? t("winAllNote") : "";
}

// ---------------------------------------------------------------- trend

const trend = new TrendChart(
  { chart: byId("tr-chart"), legend: byId("tr-legend"), table: byId("tr-table"), note: byId("tr-note"), error: byId("tr-error") },
  () => trendScope(trend.current ?? trendParams(), true),
);
const trendExercise = byId<HTMLSelectElement>("tr-exercise");
const trendRegion = byId<HTMLSelectElement>("tr-region");
const trendRange = byId<HTMLSelectElement>("tr-range");
trendExercise.addEventListener("change", () => select(trendExercise.value || null));
trendRegion.addEventListener("change", () => pickRegion(trendRegion.value || null));
trendRange.addEventListener("change", () => {
  state.trendBucket = trendRange.value as TrendBucket;
  renderTrendControls();
  void loadTrend();
});

function trendParams(): TrendParams {
  return { exerciseId: state.selected, region: state.region, bucket: state.trendBucket };
}

/** What a trend is of, in words: capitalised for a line of its own, or `inSentence`. */
function trendScope(p: { exerciseId: string | null; region: string | null; bucket: TrendBucket }, inSentence = false) {
  return {
    ex: p.exerciseId ?? t(inSentence ? "trAllExercises" : "allExercises"),
    region: p.region ?? t(inSentence ? "trAllRegions" : "allRegions"),
    range: t(`trRange_${p.bucket}` as Key),
  };
}

/** The trend's region: from its select box, the regions ranking or the map (picking it again there: all regions). */
function pickRegion(region: string | null): void {
  if (region === state.region) return;
  state.region = region;
  renderTrendControls();
  renderSelection();
  void loadTrend();
}
map.onRegionPick = (region) => pickRegion(region === state.region ? null : region);

/** The trend's select boxes' options, in the page's language. */
function renderTrendChoices(): void {
  clear(trendRegion);
  trendRegion.append(
    h("option", { value: "" }, t("allRegions")),
    ...[...REGION_NAMES].sort((a, b) => a.localeCompare(b)).map((r) => h("option", { value: r }, r)),
  );
  clear(trendRange);
  trendRange.append(...TREND_BUCKETS.map((b) => h("option", { value: b }, t(`trRange_${b}` as Key))));
  renderTrendControls();
}

/** The trend's choices as the state says: its select boxes, its scope line, the region marked on the map. */
function renderTrendControls(): void {
  trendRegion.value = state.region ?? "";
  trendRange.value = state.trendBucket;
  byId("tr-scope").textContent = t("trScope", trendScope(trendParams()));
  map.pickRegion(state.region);
}

function shadingLabel(): string {
  return t(SHADINGS.find((s) => s.value === state.shading)!.label);
}

const shadingBox = byId("shading");
function renderShadingControls(): void {
  for (const el of [...shadingBox.querySelectorAll("label")]) el.remove();
  for (const s of SHADINGS) {
    const input = h("input", { type: "radio", name: "shading", value: s.value, checked: s.value === state.shading });
    input.addEventListener("change", () => {
      state.shading = s.value;
      renderSelection();
    });
    shadingBox.append(h("label", {}, input, h("span", {}, t(s.label))));
  }
}

function renderExerciseChoices(): void {
  const ids = new Set<string>([...(state.exercises?.exercises.map((e) => e.exerciseId) ?? []), ...Object.keys(state.thresholds?.thresholds ?? {})]);
  if (state.selected) ids.add(state.selected);
  const sorted = [...ids].sort();
  for (const sel of [mapSelect, trendExercise]) {
    clear(sel);
    sel.append(h("option", { value: "" }, t("allExercises")), ...sorted.map((id) => h("option", { value: id }, id)));
    sel.value = state.selected ?? "";
  }
  thresholds.setKnownExercises(sorted);
}

function renderSelection(): void {
  const id = state.selected;
  map.setRegions(state.regions, state.shading);
  map.setHotspots(id ? state.hotspots : null);
  const cells = id && state.hotspots?.exerciseId === id ? state.hotspots.cells : [];
  map.setLabel(id ? t("mapAria", { n: cells.length, ex: id, metric: shadingLabel() }) : t("mapAriaAll", { metric: shadingLabel() }));
  byId("hotspots-h").textContent = id && state.hotspots ? t("hotspotsOf", { ex: id, th: state.hotspots.threshold }) : "";
  const note = byId("hotspots-note");
  note.textContent = !id ? t("pickExercise") : state.hotspots && cells.length === 0 ? t("noHotspots") : "";
  const list = byId("hotspot-list");
  clear(list);
  cells.slice(0, 8).forEach((c, i) => {
    const b = h(
      "button",
      { type: "button", class: "hotspot-item", "data-failures": c.failures },
      h("span", { class: "where" }, placeName(c.latitude, c.longitude)),
      h("span", { class: "what" }, `${fmtInt(c.failures)} / ${fmtInt(c.reports)} · ${fmtPct(c.reports ? c.failures / c.reports : 0, 0)}`),
    );
    for (const ev of ["mouseenter", "focus"]) b.addEventListener(ev, () => map.highlight(i));
    for (const ev of ["mouseleave", "blur"]) b.addEventListener(ev, () => map.highlight(null));
    list.append(h("li", {}, b));
  });
  renderRegions({ tbody: byId("rg-rows"), scope: byId("rg-scope"), unknown: byId("rg-unknown") }, state.regions, state.shading, id, map, {
    region: state.region,
    onPick: (region) => pickRegion(region === state.region ? null : region),
  });
  renderExerciseChoices();
  renderFreshness();
}

// ---------------------------------------------------------------- exercises

const exercises = new ExercisesPanel(
  { thead: byId("ex-head"), tbody: byId("ex-rows"), chart: byId("ex-chart"), search: byId<HTMLInputElement>("ex-search"), empty: byId("ex-empty") },
  (id) => select(id),
);
const metricSelect = byId<HTMLSelectElement>("ex-metric");
metricSelect.addEventListener("change", () => {
  exercises.metric = metricSelect.value as typeof exercises.metric;
  exercises.render();
});
function renderMetricChoices(): void {
  clear(metricSelect);
  for (const m of CHART_METRICS) metricSelect.append(h("option", { value: m.value }, t(m.label)));
  metricSelect.value = exercises.metric;
}

function renderExercises(): void {
  exercises.setSelected(state.selected);
  exercises.set(state.exercises?.exercises ?? []);
  renderExerciseChoices();
}

// ---------------------------------------------------------------- thresholds

const thresholds = new ThresholdsPanel((next) => {
  applyThresholds(next);
  // Failures are judged with the thresholds at query time: the figures change at once.
  void loadAnalytics();
});

// ---------------------------------------------------------------- analyzer

function renderRunsPanel(): void {
  renderRuns({ tbody: byId("runs-rows"), last: byId("runs-last"), next: byId("runs-next"), empty: byId("runs-empty") }, state.runs, state.schedule);
  renderStatus();
}

function renderStatus(): void {
  const el = byId("analyzer-status");
  el.textContent = state.fresh.runs.at ? analyzerSummary(state.runs, state.schedule) : "";
  el.hidden = !el.textContent;
  el.className = `pill ${state.runs[0]?.outcome === "failed" ? "bad" : "neutral"}`;
}

byId("run-now").addEventListener("click", async () => {
  const button = byId<HTMLButtonElement>("run-now");
  const msg = byId("run-msg");
  button.disabled = true;
  msg.classList.remove("error");
  msg.textContent = t("runsRunning");
  try {
    const run = await withToken((tok) => api.runNow(tok));
    msg.textContent = run ? t("runsDone", { rows: fmtInt(run.rows), files: fmtInt(run.files), ms: fmtInt(run.durationMs ?? 0) }) : "";
    await Promise.all([loadRuns(), loadAnalytics()]);
  } catch (e) {
    msg.textContent = e instanceof ApiError ? e.message : String(e);
    msg.classList.add("error");
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------- CSV downloads
/** What each panel's CSV button downloads: what the panel shows (the selected exercise's, the pages it reads). */
function csvPath(panel: string): string | null {
  const csv = { format: "csv" };
  const id = state.selected;
  const window = state.window;
  if (panel === "hotspots")
    return id ? `/api/analytics/hotspots${q({ exerciseId: id, limit: HOTSPOT_LIMIT, window, ...csv })}` : `/api/analytics/regions${q({ window, ...csv })}`;
  if (panel === "regions") return `/api/analytics/regions${q({ exerciseId: id, window, ...csv })}`;
  if (panel === "exercises") return `/api/analytics/exercises${q({ limit: 1000, window, ...csv })}`;
  if (panel === "trends") return trendsPath(trend.current ?? trendParams(), csv);
  if (panel === "response-times") return `/api/analytics/response-times${q(csv)}`;
  if (panel === "runs") return `/api/analytics/runs${q({ limit: RUNS_SHOWN, ...csv })}`;
  return null;
}

for (const button of document.querySelectorAll<HTMLButtonElement>("button[data-csv]")) {
  button.addEventListener("click", async () => {
    const path = csvPath(button.dataset.csv ?? "");
    if (!path) return;
    button.disabled = true;
    button.classList.remove("error");
    button.title = "";
    try {
      await downloadCsv(path);
    } catch (e) {
      button.classList.add("error");
      button.title = t("csvFailed", { error: e instanceof ApiError ? e.message : String(e) });
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- live feed

const feedBody = byId("feed");
const feedOnly = byId<HTMLInputElement>("feed-only");
feedOnly.addEventListener("change", () => renderFeed(true));
let pending: { o: DeploymentOrder; live: boolean }[] = [];
let frame = 0;

const feed = new LiveFeed({
  onAlerts(orders, live) {
    const now = Date.now();
    for (const o of orders) {
      state.feed.unshift(o);
      const at = live ? now : o.raisedAt;
      if (now - at < 60_000) state.arrivals.push(at);
    }
    state.lastAlertAt = Math.max(state.lastAlertAt, ...orders.map((o) => (live ? now : o.raisedAt)));
    if (state.feed.length > 1000) state.feed.length = 1000;
    if (live) for (const o of orders.slice(-30)) map.pulse(o.latitude, o.longitude, o.exerciseId === state.selected);
    pending.push(...orders.map((o) => ({ o, live })));
    if (!frame) frame = requestAnimationFrame(() => renderFeed(false));
  },
  onState(s) {
    state.conn = s;
    if (s.kind === "gap") {
      const gap = byId("feed-gap");
      gap.textContent = t("connGap");
      gap.hidden = false;
      return;
    }
    renderConn();
  },
});

const matches = (o: DeploymentOrder) => !feedOnly.checked || o.exerciseId === state.selected;

function feedRow(o: DeploymentOrder, live: boolean): HTMLTableRowElement {
  const region = o.region === "unknown" ? "—" : o.region;
  return h(
    "tr",
    { class: live ? "new" : null, "data-alert-id": o.alertId, "data-exercise": o.exerciseId, "data-student": o.studentId },
    h("td", { class: "time" }, h("time", { datetime: new Date(o.raisedAt).toISOString() }, fmtTime(o.raisedAt))),
    h(
      "td",
      { class: "who" },
      h("span", { class: "student", title: o.studentId }, o.studentId),
      h("span", { class: "exercise", title: o.exerciseId }, o.exerciseId),
      h("span", { class: "region-inline" }, region),
    ),
    h("td", { class: "num score" }, h("strong", {}, fmtNum(o.score)), h("span", { class: "vs" }, ` < ${o.threshold}`)),
    h("td", { class: "region", title: region }, region),
  );
}

/** Adds the orders that arrived since the last frame, newest on top; `full` rebuilds from the kept orders. */
function renderFeed(full: boolean): void {
  frame = 0;
  if (full) {
    pending = [];
    clear(feedBody);
    feedBody.append(
      ...state.feed
        .filter(matches)
        .slice(0, FEED_ROWS)
        .map((o) => feedRow(o, false)),
    );
  } else {
    const rows = pending.filter((p) => matches(p.o)).slice(-FEED_ROWS);
    pending = [];
    feedBody.prepend(...rows.reverse().map((p) => feedRow(p.o, p.live)));
    while (feedBody.childElementCount > FEED_ROWS) feedBody.lastElementChild?.remove();
  }
  byId("feed-empty").hidden = feedBody.childElementCount > 0;
}

function renderConn(): void {
  const el = byId("conn");
  const s = state.conn;
  if (s.kind === "live") {
    el.textContent = t("connLive");
    el.className = "pill live";
  } else if (s.kind === "down") {
    const secs = Math.ceil((s.retryAt - Date.now()) / 1000);
    el.textContent = secs > 0 ? t("connDown", { s: secs }) : t("connDownNow");
    el.className = "pill down";
  } else if (s.kind === "connecting") {
    el.textContent = t("connConnecting");
    el.className = "pill connecting";
  }
}

// ---------------------------------------------------------------- freshness, every second

function freshText(source: Source, extra?: string, since?: string): string {
  const f = state.fresh[source];
  const parts: string[] = [];
  if (since) parts.push(since);
  if (extra) parts.push(extra);
  if (f.error) parts.push(t("updateFailed", { msg: f.error }));
  else if (f.at) parts.push(t("updated", { ago: ago(Date.now() - f.at) }));
  return parts.join(" · ");
}

function setFresh(id: string, text: string, error: boolean): void {
  const el = byId(id);
  el.textContent = text;
  el.classList.toggle("error", error);
}

function renderFreshness(): void {
  const asOf = state.exercises ? (state.exercises.asOf ? t("asOf", { time: fmtTime(state.exercises.asOf) }) : t("noRun")) : undefined;
  const mapCover = state.selected ? state.covers.hotspots : state.covers.regions;
  setFresh(
    "map-fresh",
    freshText(state.selected ? "hotspots" : "regions", asOf, sinceText(mapCover)),
    !!(state.fresh.regions.error || state.fresh.hotspots.error),
  );
  setFresh("ex-fresh", freshText("exercises", asOf, sinceText(state.covers.exercises)), !!state.fresh.exercises.error);
  setFresh("rg-fresh", freshText("regions", asOf, sinceText(state.covers.regions)), !!state.fresh.regions.error);
  setFresh("tr-fresh", freshText("trends", asOf), !!state.fresh.trends.error);
  renderWindowSince();
  setFresh("th-fresh", freshText("thresholds"), !!state.fresh.thresholds.error);
  setFresh("runs-fresh", freshText("runs"), !!state.fresh.runs.error);
  const now = Date.now();
  while (state.arrivals.length && state.arrivals[0]! < now - 60_000) state.arrivals.shift();
  state.arrivals.sort((a, b) => a - b);
  const rate = byId("feed-rate");
  rate.dataset.count = String(state.arrivals.length);
  clear(rate);
  rate.append(h("strong", {}, fmtInt(state.arrivals.length)), ` ${t("feedRate")}`);
  byId("feed-state").textContent = state.lastAlertAt ? t("lastOrder", { ago: ago(now - state.lastAlertAt) }) : "";
  renderConn();
}

// ---------------------------------------------------------------- language

const langButton = byId<HTMLButtonElement>("lang");
function renderLang(): void {
  const other = currentLang() === "en" ? "fr" : "en";
  langButton.textContent = t("langShort");
  langButton.lang = other;
  langButton.setAttribute("aria-label", t("lang"));
  langButton.title = t("lang");
}
langButton.addEventListener("click", () => {
  setLang(currentLang() === "en" ? "fr" : "en");
  renderAll();
});

function renderAll(): void {
  applyStatic();
  renderLang();
  renderShadingControls();
  renderWindowControls();
  renderTrendChoices();
  renderMetricChoices();
  renderExercises();
  if (state.thresholds) thresholds.set(state.thresholds);
  renderRunsPanel();
  renderSelection();
  renderFeed(true);
  trend.render();
  renderFreshness();
  dispatch.render();
}

// ---------------------------------------------------------------- start

declare global {
  interface Window {
    /** For operators' consoles and the browser tests: the live feed (drop(ms) simulates a network cut) and the state. */
    acu: { feed: LiveFeed; state: typeof state; refresh: () => Promise<void>; dispatch: DispatchPanels };
  }
}

async function refreshAll(): Promise<void> {
  await Promise.all([loadThresholds(), loadRuns(), loadAnalytics()]);
}

window.acu = { feed, state, refresh: refreshAll, dispatch };
setLang(currentLang());
renderAll();
// A token given in the dialog lets a refused stream connect at once.
onTokenChange(() => {
  feed.retryNow();
  dispatch.live.stream.retryNow();
});
void feed.start();
void refreshAll();
dispatch.start();
setInterval(() => void loadRuns(), POLL_RUNS_MS);
setInterval(() => void loadAnalytics(), POLL_ANALYTICS_MS);
setInterval(() => void loadThresholds(), POLL_THRESHOLDS_MS);
setInterval(renderFreshness, 1000);
