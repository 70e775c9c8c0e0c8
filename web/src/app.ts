/**
 * The acu dashboard: live deployment orders over WebSocket, analytics polled from the API, thresholds
 * edited with the operator token, and dispatch — incidents, patrols on the map, response times
 * (dispatch-panels.ts). Bundled by web/build.ts into /assets/app.js.
 */
import {
  ApiError,
  api,
  downloadCsv,
  q,
  type AnalyzerRun,
  type AnalyzerSchedule,
  type DeploymentOrder,
  type ExerciseStats,
  type Hotspots,
  type RegionStat,
  type Thresholds,
} from "./api.ts";
import { DispatchPanels } from "./dispatch-panels.ts";
import { byId, clear, h } from "./dom.ts";
import { CHART_METRICS, ExercisesPanel } from "./exercises.ts";
import { LiveFeed, type FeedState } from "./feed.ts";
import { ago, applyStatic, currentLang, fmtInt, fmtNum, fmtPct, fmtTime, setLang, t } from "./i18n.ts";
import { FranceMap, SHADINGS, placeName, type Shading } from "./map.ts";
import { renderRegions } from "./regions-panel.ts";
import { analyzerSummary, renderRuns } from "./runs.ts";
import { ThresholdsPanel } from "./thresholds.ts";
import { onTokenChange, withToken } from "./token.ts";

const HOTSPOT_LIMIT = 40;
const RUNS_SHOWN = 10;
const FEED_ROWS = 150;
const POLL_RUNS_MS = 5_000;
const POLL_ANALYTICS_MS = 15_000;
const POLL_THRESHOLDS_MS = 10_000;

type Source = "exercises" | "regions" | "hotspots" | "thresholds" | "runs";
interface Freshness {
  at: number;
  error: string | null;
}

const state = {
  selected: null as string | null,
  /** The operator picked something (even "all"): no automatic choice any more. */
  userChose: false,
  shading: "averageScore" as Shading,
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
  fresh: Object.fromEntries((["exercises", "regions", "hotspots", "thresholds", "runs"] as Source[]).map((k) => [k, { at: 0, error: null }])) as Record<
    Source,
    Freshness
  >,
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
  const [regions, hotspots] = await Promise.all([
    load("regions", () => api.regions(id)),
    id ? load("hotspots", () => api.hotspots(id, HOTSPOT_LIMIT)) : Promise.resolve(null),
  ]);
  if (seq !== selectionSeq) return; // a newer selection answered or will answer
  if (regions) state.regions = regions.regions;
  state.hotspots = id ? (hotspots ?? state.hotspots) : null;
  renderSelection();
}

async function loadAnalytics(): Promise<void> {
  const ex = await load("exercises", () => api.exercises());
  if (ex) {
    state.exercises = ex;
    if (!state.userChose && state.selected === null && ex.exercises.length) {
      // Start where it matters most: the exercise with the most failures.
      state.selected = [...ex.exercises].sort((a, b) => b.failures - a.failures || a.exerciseId.localeCompare(b.exerciseId))[0]!.exerciseId;
    }
    renderExercises();
  }
  await loadSelection();
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
  void loadSelection();
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
  clear(mapSelect);
  mapSelect.append(h("option", { value: "" }, t("allExercises")), ...sorted.map((id) => h("option", { value: id }, id)));
  mapSelect.value = state.selected ?? "";
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
  renderRegions({ tbody: byId("rg-rows"), scope: byId("rg-scope"), unknown: byId("rg-unknown") }, state.regions, state.shading, id, map);
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
  if (panel === "hotspots") return id ? `/api/analytics/hotspots${q({ exerciseId: id, limit: HOTSPOT_LIMIT, ...csv })}` : `/api/analytics/regions${q(csv)}`;
  if (panel === "regions") return `/api/analytics/regions${q({ exerciseId: id, ...csv })}`;
  if (panel === "exercises") return `/api/analytics/exercises${q({ limit: 1000, ...csv })}`;
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

function freshText(source: Source, extra?: string): string {
  const f = state.fresh[source];
  const parts: string[] = [];
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
  setFresh("map-fresh", freshText(state.selected ? "hotspots" : "regions", asOf), !!(state.fresh.regions.error || state.fresh.hotspots.error));
  setFresh("ex-fresh", freshText("exercises", asOf), !!state.fresh.exercises.error);
  setFresh("rg-fresh", freshText("regions", asOf), !!state.fresh.regions.error);
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
  renderMetricChoices();
  renderExercises();
  if (state.thresholds) thresholds.set(state.thresholds);
  renderRunsPanel();
  renderSelection();
  renderFeed(true);
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
