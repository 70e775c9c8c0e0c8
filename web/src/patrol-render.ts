/** Draws the patrol's page from its state: the header, the connection, the assignment, the position. */
import { distanceKm } from "../../src/domain/regions.ts";
import { activated } from "./alarm.ts";
import { nextAction, type Incident, type IncidentState } from "./dispatch-model.ts";
import { byId, clear, h } from "./dom.ts";
import { compassPoint, direction, placeName } from "./geo.ts";
import { ago, fmtInt, fmtNum, t, type Key } from "./i18n.ts";
import type { MiniMap, Point } from "./mini-map.ts";
import type { PatrolView } from "./patrol-view.ts";
import type { PositionSharer } from "./position.ts";
import type { StreamState } from "./stream.ts";

export type ConnState = StreamState | { kind: "off" };

export interface PageState {
  patrolId: string;
  view: PatrolView;
  sharer: PositionSharer;
  conn: ConnState;
  /** A transition is being sent: its button waits. */
  busy: boolean;
  message: { text: string; error: boolean } | null;
}

const stateLabel = (s: IncidentState) => t(`state_${s}` as Key);

/** When the incident entered its current state. */
function enteredAt(inc: Incident): number | null {
  const at = {
    assigned: inc.times.assignedAt,
    acknowledged: inc.times.acknowledgedAt,
    "en-route": inc.times.enRouteAt,
    "on-site": inc.times.onSiteAt,
  } as Partial<Record<IncidentState, number | null>>;
  return at[inc.state] ?? null;
}

/** Where the patrol is, as well as the page knows: its own last fix, else the position the server holds. */
export function patrolPoint(s: PageState): Point | null {
  if (s.sharer.fix) return s.sharer.fix;
  const p = s.view.patrol;
  return p && p.positionAt > 0 ? p : null;
}

export function renderHeader(s: PageState): void {
  const p = s.view.patrol;
  byId("p-name").textContent = p?.name || s.patrolId;
  byId("p-status").textContent = [s.patrolId, p ? t("ptStatus", { s: t(`status_${p.status}` as Key) }) : ""].filter(Boolean).join(" · ");
}

export function renderConn(conn: ConnState): void {
  const el = byId("conn");
  if (conn.kind === "live") el.textContent = t("connLive");
  else if (conn.kind === "off") el.textContent = t("dispatchOff");
  else if (conn.kind === "down") {
    const secs = Math.ceil((conn.retryAt - Date.now()) / 1000);
    el.textContent = secs > 0 ? t("connDown", { s: secs }) : t("connDownNow");
  } else if (conn.kind === "connecting") el.textContent = t("connConnecting");
  if (conn.kind !== "gap") el.className = `conn ${conn.kind}`;
}

export function renderAssignment(s: PageState, map: MiniMap): void {
  const inc = s.view.current;
  byId("a-none").hidden = !!inc;
  byId("a-body").hidden = !inc;
  renderEnded(s.view);
  if (!inc) return;
  const state = byId("a-state");
  state.textContent = stateLabel(inc.state);
  state.className = `state ${inc.state}`;
  byId("assignment").dataset.incident = inc.incidentId;
  byId("assignment").dataset.state = inc.state;
  byId("a-student").textContent = inc.studentId;
  byId("a-exercise").textContent = inc.exerciseId;
  byId("a-score").textContent = inc.orderCount > 1 ? `${fmtNum(inc.lowestScore)} · ${t("ptOrders", { n: inc.orderCount })}` : fmtNum(inc.lowestScore);
  const place = inc.place || placeName(inc.latitude, inc.longitude);
  byId("a-place").textContent = inc.region && inc.region !== "unknown" ? `${place} · ${inc.region}` : place;
  const you = patrolPoint(s);
  const km = you ? distanceKm(you.latitude, you.longitude, inc.latitude, inc.longitude) : null;
  const dist = byId("a-distance");
  const dir = you ? compassPoint(direction(you.latitude, you.longitude, inc.latitude, inc.longitude)) : "";
  dist.textContent = km === null ? t("ptDistanceUnknown") : t("ptDistanceValue", { km: fmtKm(km), dir });
  dist.classList.toggle("unknown", km === null);
  if (km === null) delete dist.dataset.km;
  else dist.dataset.km = km.toFixed(3);
  map.show(inc, you, km === null ? t("ptMapNoYou") : t("ptMap", { km: fmtKm(km) }), t("ptYou"));
  renderSince(s);
  renderNext(s, inc);
}

const fmtKm = (km: number) => (km < 10 ? fmtNum(km, 1) : fmtInt(km));

/** The one next transition: a big button, or the resolution form once on site. */
function renderNext(s: PageState, inc: Incident): void {
  const action = nextAction(inc.state);
  const next = byId<HTMLButtonElement>("a-next");
  const form = byId("resolve-form");
  next.hidden = !action || action === "resolve";
  form.hidden = action !== "resolve";
  if (action && action !== "resolve") {
    next.textContent = s.busy ? t("ptSending") : t(`act_${action}` as Key);
    next.className = `big primary ${action}`;
    next.dataset.action = action;
  }
  next.disabled = s.busy;
  byId<HTMLButtonElement>("resolve-go").disabled = s.busy;
  const msg = byId("a-msg");
  msg.textContent = s.message?.text ?? "";
  msg.classList.toggle("error", !!s.message?.error);
  msg.setAttribute("role", s.message?.error ? "alert" : "status");
}

/** How long the incident has been in its state; redrawn every second. */
export function renderSince(s: PageState): void {
  const inc = s.view.current;
  const at = inc ? enteredAt(inc) : null;
  byId("a-since").textContent = at ? ago(Date.now() - at) : "";
}

function renderEnded(view: PatrolView): void {
  const list = byId("ended");
  clear(list);
  byId("ended-box").hidden = view.ended.length === 0;
  for (const e of view.ended) {
    list.append(h("li", { class: e.why, "data-incident": e.incident.incidentId }, t(`ptEnded_${e.why}` as Key, { student: e.incident.studentId })));
  }
}

export function renderPosition(s: PageState): void {
  const sh = s.sharer;
  const el = byId("pos-state");
  let text: string;
  let error = false;
  if (sh.error) [text, error] = [t("ptPosFailed", { msg: sh.error }), true];
  else if (sh.sending) text = t("ptPosSending");
  else if (sh.sent && sh.fix)
    text = t("ptPosShared", {
      ago: ago(Date.now() - sh.sent.at),
      source: sh.fix.source === "gps" ? t("pos_gps", { m: fmtInt(sh.fix.accuracy ?? 0) }) : t("pos_manual"),
    });
  else if (s.view.patrol && s.view.patrol.positionAt > 0) text = t("ptPosServer", { ago: ago(Date.now() - s.view.patrol.positionAt) });
  else text = t("ptPosNone");
  const gps: Partial<Record<typeof sh.gps, string>> = {
    waiting: t("ptPosWaiting"),
    on: t("ptPosGpsOn"),
    denied: t("ptPosDenied"),
    unavailable: t("ptPosUnavailable", { msg: sh.gpsError }),
    unsupported: t("ptPosNoGps"),
  };
  el.textContent = [text, gps[sh.gps]].filter(Boolean).join(" — ");
  el.classList.toggle("error", error || sh.gps === "denied" || sh.gps === "unavailable");
  byId("pos-gps").hidden = sh.gps !== "off";
}

export function renderSound(): void {
  const note = byId("sound-note");
  note.textContent = activated() ? "" : t("ptSoundOff");
  note.hidden = !note.textContent;
}
