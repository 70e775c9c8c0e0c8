/**
 * The dashboard's dispatch panels, wired together: the incident board, the patrols on the map and the
 * response times. Each says "dispatch is not running here" when the API answers 404 (a process without
 * the dispatch role), and comes alive by itself once it answers.
 */
import { ApiError } from "./api.ts";
import { dispatchApi, type ResponseTime } from "./dispatch-api.ts";
import { DispatchLive } from "./dispatch-live.ts";
import { byId } from "./dom.ts";
import { ago, t } from "./i18n.ts";
import { IncidentBoard } from "./incident-board.ts";
import { PatrolLayer, type Projecting } from "./patrol-layer.ts";
import { renderResponseHead, renderResponseTimes } from "./response-times.ts";

const POLL_RESPONSE_MS = 15_000;

export class DispatchPanels {
  readonly live: DispatchLive;
  private readonly board: IncidentBoard;
  private readonly layer: PatrolLayer;
  private times: { rows: ResponseTime[]; at: number; error: string | null; off: boolean } = { rows: [], at: 0, error: null, off: false };

  constructor(map: Projecting) {
    this.live = new DispatchLive(() => this.renderLive());
    this.board = new IncidentBoard(byId("inc-board"), byId("inc-patrols"), this.live);
    this.layer = new PatrolLayer(map, byId("patrol-legend"));
  }

  start(): void {
    void this.live.start();
    void this.loadTimes();
    setInterval(() => void this.loadTimes(), POLL_RESPONSE_MS);
    setInterval(() => {
      this.board.tick();
      this.renderFresh();
    }, 1000);
  }

  /** Everything again (e.g. in another language). */
  render(): void {
    this.renderLive();
    renderResponseHead(byId("rt-head"));
    this.renderTimes();
  }

  private async loadTimes(): Promise<void> {
    try {
      const r = await dispatchApi.responseTimes();
      this.times = { rows: r.regions, at: Date.now(), error: null, off: false };
    } catch (e) {
      const off = e instanceof ApiError && e.status === 404;
      this.times = { ...this.times, error: off ? null : e instanceof Error ? e.message : String(e), off };
    }
    this.renderTimes();
  }

  private renderLive(): void {
    const off = this.live.availability === "off";
    byId("inc-off").hidden = !off;
    byId("inc-board").hidden = off;
    byId("inc-help").hidden = off;
    this.board.render();
    this.layer.render(this.live.patrols.values(), this.live.incidents, this.live.availability === "on");
    this.renderFresh();
  }

  private renderTimes(): void {
    byId("rt-off").hidden = !this.times.off;
    byId("rt-table").hidden = this.times.off;
    renderResponseTimes(byId("rt-rows"), byId("rt-empty"), this.times.off ? [] : this.times.rows);
    if (this.times.off) byId("rt-empty").hidden = true;
    this.renderFresh();
  }

  private renderFresh(): void {
    const live = this.live;
    const inc = byId("inc-fresh");
    const conn = live.conn.kind === "live" ? t("connLive") : live.conn.kind === "down" ? t("connDownNow") : t("connConnecting");
    inc.textContent = live.availability !== "on" ? "" : live.error ? t("updateFailed", { msg: live.error }) : conn;
    inc.classList.toggle("error", !!live.error || live.conn.kind === "down");
    const rt = byId("rt-fresh");
    rt.textContent = this.times.error
      ? t("updateFailed", { msg: this.times.error })
      : this.times.at
        ? t("updated", { ago: ago(Date.now() - this.times.at) })
        : "";
    rt.classList.toggle("error", !!this.times.error);
  }
}
