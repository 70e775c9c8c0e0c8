/**
 * One incident on the operators' board: who, what, where, which patrol, its age, and what is late; for an
 * incident still running, the operator's reassign (to a chosen patrol, or the nearest) and cancel.
 */
import { distanceKm } from "../../src/domain/regions.ts";
import { ApiError } from "./api.ts";
import { dispatchApi, isTerminal, lateness, type Incident, type Patrol } from "./dispatch-api.ts";
import { closedAt, type DispatchLive } from "./dispatch-live.ts";
import { clear, h } from "./dom.ts";
import { placeName } from "./geo.ts";
import { ago, fmtInt, fmtNum, t, type Key } from "./i18n.ts";
import { withToken } from "./token.ts";

export class IncidentCard {
  readonly el: HTMLLIElement;
  private readonly body = h("div", { class: "inc-body" });
  private readonly age = h("span", { class: "age" });
  private ops: HTMLDetailsElement | null = null;
  private opsLang = "";
  private key = "";

  constructor(
    private inc: Incident,
    private readonly live: DispatchLive,
  ) {
    this.el = h("li", { class: "inc", "data-incident": inc.incidentId });
    this.el.append(this.body);
    this.update(inc, Date.now());
  }

  update(inc: Incident, now: number): void {
    this.inc = inc;
    const late = lateness(inc, now);
    const patrol = inc.patrolId ? this.live.patrols.get(inc.patrolId) : undefined;
    const key = `${inc.revision}|${document.documentElement.lang}|${late}|${patrol?.name ?? ""}`;
    this.el.dataset.state = inc.state;
    this.el.dataset.student = inc.studentId;
    this.el.classList.toggle("late", late !== null);
    if (key !== this.key) {
      this.key = key;
      this.renderBody(inc, late, patrol);
    }
    if (isTerminal(inc.state)) {
      this.ops?.remove();
      this.ops = null;
    } else if (!this.ops || (this.opsLang !== document.documentElement.lang && !this.ops.open)) {
      // Made once, and again in a new language unless the operator is using it.
      const ops = this.renderOps();
      if (this.ops) this.ops.replaceWith(ops);
      else this.el.append(ops);
      this.ops = ops;
      this.opsLang = document.documentElement.lang;
    }
    this.tick(now);
  }

  /** The age, every second; and the lateness, which changes with time alone. */
  tick(now: number): void {
    const inc = this.inc;
    // A closed one says how and when it closed; a running one, how long since it opened.
    this.age.textContent = isTerminal(inc.state)
      ? `${t(`state_${inc.state}` as Key)} ${ago(now - closedAt(inc))}`
      : t("incAge", { ago: ago(now - inc.times.openedAt) });
    const late = lateness(this.inc, now) !== null;
    if (late !== this.el.classList.contains("late")) this.update(this.inc, now);
  }

  private renderBody(inc: Incident, late: "ack" | "arrival" | null, patrol: Patrol | undefined): void {
    clear(this.body);
    const place = inc.place || placeName(inc.latitude, inc.longitude);
    const where = inc.region && inc.region !== "unknown" ? `${place} · ${inc.region}` : place;
    const who = inc.patrolId
      ? t("incPatrol", { p: patrol?.name ? `${inc.patrolId} · ${patrol.name}` : inc.patrolId })
      : isTerminal(inc.state)
        ? ""
        : t("incNoPatrol");
    const parts = [
      h("div", { class: "inc-head" }, h("strong", { class: "student", title: inc.studentId }, inc.studentId), this.age),
      h(
        "div",
        { class: "inc-what" },
        h("span", { class: "exercise", title: inc.exerciseId }, inc.exerciseId),
        " · ",
        h("strong", { class: "score" }, fmtNum(inc.lowestScore)),
        inc.orderCount > 1 ? ` · ${t("incOrders", { n: fmtInt(inc.orderCount) })}` : "",
      ),
      h("div", { class: "inc-where", title: where }, where),
      who ? h("div", { class: inc.patrolId ? "inc-patrol" : "inc-patrol none", "data-patrol": inc.patrolId ?? "" }, who) : null,
      late ? h("div", { class: "late-badge" }, t(late === "ack" ? "incLateAck" : "incLateArrival")) : null,
      inc.note && isTerminal(inc.state) ? h("div", { class: "inc-note" }, `“${inc.note}”`) : null,
    ];
    this.body.append(...parts.filter((x): x is HTMLDivElement => x !== null));
  }

  private renderOps(): HTMLDetailsElement {
    const select = h("select", { class: "reassign-to", "aria-label": t("incReassignTo") });
    const reassign = h(
      "form",
      { class: "inline", novalidate: true },
      h("label", {}, t("incReassignTo"), select),
      h("button", { type: "submit" }, t("incReassign")),
    );
    const note = h("input", {
      type: "text",
      class: "cancel-note",
      maxlength: 500,
      autocomplete: "off",
      "aria-label": t("incCancelNote"),
      placeholder: t("incCancelNote"),
    });
    const cancel = h("form", { class: "inline", novalidate: true }, note, h("button", { type: "submit", class: "danger" }, t("incCancel")));
    const msg = h("span", { class: "msg", role: "status" });
    const ops = h("details", { class: "inc-ops" }, h("summary", {}, t("incActions")), reassign, cancel, msg);
    ops.addEventListener("toggle", () => {
      if (ops.open) this.fillPatrols(select);
    });
    reassign.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const to = select.value || null;
      void this.act(ops, msg, (tok) => dispatchApi.reassign(tok, this.inc.incidentId, to), t("incReassigned"));
    });
    cancel.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.act(ops, msg, (tok) => dispatchApi.cancel(tok, this.inc.incidentId, note.value.trim()), t("incCancelled"));
    });
    return ops;
  }

  /** The available patrols, nearest first, to choose from; or the dispatcher's own choice. */
  private fillPatrols(select: HTMLSelectElement): void {
    const inc = this.inc;
    const free = [...this.live.patrols.values()]
      .filter((p) => p.status === "available" && p.patrolId !== inc.patrolId)
      .map((p) => ({ p, km: distanceKm(p.latitude, p.longitude, inc.latitude, inc.longitude) }))
      .sort((a, b) => a.km - b.km);
    clear(select);
    select.append(
      h("option", { value: "" }, t("incNearest")),
      ...free.map(({ p, km }) => h("option", { value: p.patrolId }, `${p.patrolId} · ${p.name} · ${fmtInt(km)} km`)),
    );
  }

  /** An operator action: the operator token is asked for when the page holds none or a viewer's. */
  private async act(ops: HTMLElement, msg: HTMLElement, call: (token: string) => Promise<Incident>, ok: string): Promise<void> {
    const buttons = [...ops.querySelectorAll("button")];
    for (const b of buttons) b.disabled = true;
    msg.classList.remove("error");
    msg.textContent = "";
    try {
      const next = await withToken(call);
      if (next) {
        msg.textContent = ok;
        this.live.merge(next);
      }
    } catch (e) {
      msg.textContent = e instanceof ApiError ? e.message : String(e);
      msg.classList.add("error");
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }
}
