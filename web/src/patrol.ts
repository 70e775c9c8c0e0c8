/**
 * The patrol's page (`/patrol#token=…&patrol=p-07`), phone first: the incident the patrol holds, a big
 * button for its next transition, its position shared with the dispatcher, an alarm on a new assignment.
 * WS /api/patrols/{id}/stream resumes from its cursor after a drop, and its first frame at each connection
 * is the current assignment, so one raised while the socket was down is shown (and rung) on return.
 * Bundled by web/build.ts into /assets/patrol.js.
 */
import { CITIES, distanceKm } from "../../src/domain/regions.ts";
import { ring, unlockOnFirstGesture } from "./alarm.ts";
import { ApiError } from "./api.ts";
import { dispatchApi, INCIDENT_STATES, type Incident, type IncidentState, type PatrolAction, type PatrolFrame } from "./dispatch-api.ts";
import { byId, h } from "./dom.ts";
import { placeName } from "./geo.ts";
import { applyStatic, currentLang, setLang, t } from "./i18n.ts";
import { MiniMap } from "./mini-map.ts";
import { patrolPoint, renderAssignment, renderConn, renderHeader, renderPosition, renderSince, renderSound, type PageState } from "./patrol-render.ts";
import { PatrolView, type Change } from "./patrol-view.ts";
import { parsePlace, PositionSharer } from "./position.ts";
import { ResumableStream } from "./stream.ts";
import { askToken, currentToken, fragmentParam, onTokenChange, setReadingPrompt } from "./token.ts";

const PATROL_ID = /^[a-z0-9-]{1,32}$/;
const PATROL_KEY = "acu.patrol";
const NEW_MS = 30_000;

setReadingPrompt(() => t("ptTokAsk"));

// ---------------------------------------------------------------- the token, asked in the patrol's words

/** The patrol cancelled the token dialog: background calls (position) do not reopen it until it acts. */
let declined = false;

/**
 * A call with the page's token, asking for one when there is none or it is refused (401); a 403 asks
 * again only when `wrongPatrol` says it means a token for another patrol. Null when the patrol cancels.
 */
async function withPatrolToken<T>(call: (token: string) => Promise<T>, opts: { background?: boolean; wrongPatrol?: boolean } = {}): Promise<T | null> {
  if (!opts.background) declined = false;
  const ask = async (why: string) => {
    if (declined) return null;
    const v = await askToken(why);
    declined = v === null;
    return v;
  };
  let tok = currentToken() ?? (await ask(t("ptTokAsk")));
  for (let attempt = 0; tok && attempt < 2; attempt++) {
    try {
      return await call(tok);
    } catch (e) {
      const status = e instanceof ApiError ? e.status : 0;
      const again = status === 401 || (status === 403 && opts.wrongPatrol);
      if (!again || attempt === 1) throw e;
      tok = await ask(status === 401 ? t("tokRefused") : t("ptTokWrong", { id: page.patrolId }));
    }
  }
  return null;
}

// ---------------------------------------------------------------- state

const page: PageState = {
  patrolId: "",
  view: new PatrolView(""),
  sharer: new PositionSharer(sendPosition, () => renderPosition(page)),
  conn: { kind: "connecting" },
  busy: false,
  message: null,
};
const map = new MiniMap(byId("a-map"));
let stream: ResumableStream<PatrolFrame> | null = null;
let newUntil = 0;

async function sendPosition(latitude: number, longitude: number): Promise<void> {
  const answer = await withPatrolToken((tok) => dispatchApi.position(tok, page.patrolId, latitude, longitude), { background: true, wrongPatrol: true });
  if (answer === null) throw new Error(t("tokTitle"));
  page.view.apply({ type: "patrol", patrol: answer, cursor: "" });
  render();
}

function render(): void {
  renderHeader(page);
  renderConn(page.conn);
  renderAssignment(page, map);
  renderPosition(page);
  renderSound();
  byId("assignment").classList.toggle("new", Date.now() < newUntil);
}

// ---------------------------------------------------------------- frames and what they change

function handle(changes: Change[]): void {
  for (const c of changes) {
    if (c.kind === "assigned") announce(c.incident);
    else if (c.kind === "ended") {
      page.message = { text: t(`ptEnded_${c.ended.why}`, { student: c.ended.incident.studentId }), error: c.ended.why !== "resolved" };
      if (page.view.current === null) hideAlert();
    }
  }
  if (page.view.current && page.view.current.state !== "assigned") hideAlert();
  render();
}

/** A new assignment: a banner, the alarm, and the tab's title, until the patrol acknowledges it. */
function announce(inc: Incident): void {
  const you = patrolPoint(page);
  const km = you ? Math.round(distanceKm(you.latitude, you.longitude, inc.latitude, inc.longitude) * 10) / 10 : null;
  const [student, place] = [inc.studentId, inc.place || placeName(inc.latitude, inc.longitude)];
  const el = byId("p-alert");
  el.textContent = km === null ? t("ptNew", { student, place }) : t("ptNewKm", { student, place, km });
  el.hidden = false;
  page.message = null;
  newUntil = Date.now() + NEW_MS;
  document.title = `● ${t("ptAssignment")} — acu`;
  ring();
}

function hideAlert(): void {
  byId("p-alert").hidden = true;
  document.title = "acu — patrol";
}

// ---------------------------------------------------------------- transitions

async function act(action: PatrolAction, note?: string): Promise<void> {
  const inc = page.view.current;
  if (!inc || page.busy) return;
  page.busy = true;
  page.message = null;
  render();
  try {
    const next = await withPatrolToken((tok) => dispatchApi.act(tok, inc.incidentId, action, note));
    if (next) {
      handle(page.view.incident(next));
      if (action === "resolve") byId<HTMLTextAreaElement>("resolve-note").value = "";
    }
  } catch (e) {
    page.message = { text: refusal(e), error: true };
  } finally {
    page.busy = false;
    render();
  }
}

function refusal(e: unknown): string {
  if (e instanceof ApiError && e.status === 409) {
    const known = INCIDENT_STATES.includes(e.state as IncidentState);
    return t("ptConflict", { state: known ? t(`state_${e.state as IncidentState}`) : (e.state ?? "?"), msg: e.message });
  }
  if (e instanceof ApiError && e.status === 403) return t("ptForbidden");
  return t("ptSendFailed", { msg: e instanceof Error ? e.message : String(e) });
}

byId("a-next").addEventListener("click", () => {
  const action = byId("a-next").dataset.action as PatrolAction | undefined;
  if (action) void act(action);
});
byId("resolve-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  void act("resolve", byId<HTMLTextAreaElement>("resolve-note").value.trim());
});

// ---------------------------------------------------------------- position

byId("pos-gps").addEventListener("click", () => page.sharer.startGps());
byId("pos-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  declined = false;
  const input = byId<HTMLInputElement>("pos-input");
  const msg = byId("pos-msg");
  const place = parsePlace(input.value);
  msg.textContent = place ? "" : t("ptPosBad");
  msg.classList.toggle("error", !place);
  if (place) page.sharer.manual(place.latitude, place.longitude);
});
byId("pos-cities").append(...[...CITIES].sort((a, b) => a.name.localeCompare(b.name)).map((c) => h("option", { value: c.name })));

// ---------------------------------------------------------------- the stream and its diagnosis

/** After repeated failures, asks the route why (the upgrade cannot say): a refused token, or no dispatch here. */
let diagnosed = false;
async function diagnose(): Promise<void> {
  if (diagnosed) return;
  diagnosed = true;
  const tok = currentToken();
  let status = 0;
  try {
    status = (await fetch(dispatchApi.patrolStreamPath(page.patrolId), { headers: tok ? { authorization: `Bearer ${tok}` } : {} })).status;
  } catch {
    return; // the server is away: the stream keeps trying
  }
  if (status === 404) {
    page.conn = { kind: "off" };
    renderConn(page.conn);
  } else if (status === 401 || status === 403) {
    const v = await askToken(status === 401 ? t("ptTokAsk") : t("ptTokWrong", { id: page.patrolId }));
    if (v) stream?.retryNow();
  }
}

function startStream(): void {
  stream = new ResumableStream<PatrolFrame>({
    url: () => ({ path: dispatchApi.patrolStreamPath(page.patrolId) }),
    onFrame: (f) => handle(page.view.apply(f)),
    isLive: (f) => f.type === "assignment",
    onState: (st) => {
      if (st.kind === "live") diagnosed = false;
      if (st.kind === "gap") return;
      // "dispatch is not running here" stays until the stream is live again.
      if (!(page.conn.kind === "off" && st.kind !== "live")) page.conn = st;
      if (st.kind === "down" && st.failures >= 2) void diagnose();
      renderConn(page.conn);
    },
  });
  stream.start();
  onTokenChange(() => stream?.retryNow());
}

// ---------------------------------------------------------------- which patrol, language, start

function storedPatrol(): string | null {
  try {
    return sessionStorage.getItem(PATROL_KEY);
  } catch {
    return null;
  }
}

async function open(patrolId: string): Promise<void> {
  try {
    sessionStorage.setItem(PATROL_KEY, patrolId);
  } catch {
    // Memory only.
  }
  page.patrolId = patrolId;
  page.view = new PatrolView(patrolId);
  for (const id of ["assignment", "position", "sound-box"]) byId(id).hidden = false;
  byId("setup").hidden = true;
  render();
  // No token yet: ask before connecting, rather than after the stream is refused.
  if (!currentToken()) declined = (await askToken(t("ptTokAsk"))) === null;
  startStream();
  void page.sharer.init();
}

byId("setup").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const v = byId<HTMLInputElement>("setup-id").value.trim().toLowerCase();
  byId("setup-msg").textContent = PATROL_ID.test(v) ? "" : t("ptBadId");
  if (!PATROL_ID.test(v)) return;
  history.replaceState(null, "", `${location.pathname}${location.search}#patrol=${encodeURIComponent(v)}`);
  void open(v);
});

const langButton = byId<HTMLButtonElement>("lang");
function renderLang(): void {
  langButton.textContent = t("langShort");
  langButton.lang = currentLang() === "en" ? "fr" : "en";
  langButton.setAttribute("aria-label", t("lang"));
  langButton.title = t("lang");
}
langButton.addEventListener("click", () => {
  setLang(currentLang() === "en" ? "fr" : "en");
  renderLang();
  if (page.patrolId) render();
});

byId("sound-test").addEventListener("click", () => {
  ring();
  renderSound();
});
unlockOnFirstGesture(() => {
  renderSound();
  void keepScreenOn();
});

/** A patrol's phone must not sleep while it waits: a sleeping tab loses its socket. */
async function keepScreenOn(): Promise<void> {
  try {
    await (navigator as Navigator & { wakeLock?: { request(type: "screen"): Promise<unknown> } }).wakeLock?.request("screen");
  } catch {
    // Refused (battery saver, hidden tab): the page still works.
  }
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && navigator.userActivation?.hasBeenActive) void keepScreenOn();
});

declare global {
  interface Window {
    /** For the browser tests: the page's state and its stream (drop(ms) simulates a network cut). */
    acuPatrol: { page: PageState; stream: () => ResumableStream<PatrolFrame> | null };
  }
}
window.acuPatrol = { page, stream: () => stream };

setLang(currentLang());
applyStatic();
renderLang();
setInterval(() => {
  if (!page.patrolId) return;
  renderConn(page.conn);
  renderSince(page);
  renderPosition(page);
  byId("assignment").classList.toggle("new", Date.now() < newUntil);
}, 1000);

const initial = fragmentParam("patrol") ?? storedPatrol();
if (initial && PATROL_ID.test(initial)) void open(initial);
else byId("setup").hidden = false;
