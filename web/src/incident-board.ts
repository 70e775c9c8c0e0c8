/**
 * The operators' incident board: one column per state of a running incident, oldest first (the most
 * urgent on top), and the latest closed ones; the patrols counted by status. Cards are kept and moved,
 * not rebuilt, so an operator's open reassign form survives the updates.
 */
import { INCIDENT_STATES, PATROL_STATUSES, isTerminal, type Incident, type IncidentState } from "./dispatch-api.ts";
import { closedAt, type DispatchLive } from "./dispatch-live.ts";
import { clear, h } from "./dom.ts";
import { fmtInt, t, type Key } from "./i18n.ts";
import { IncidentCard } from "./incident-card.ts";

const RUNNING = INCIDENT_STATES.filter((s) => !isTerminal(s));
const PER_COLUMN = 40;
const CLOSED_SHOWN = 10;
type Column = IncidentState | "closed";

export class IncidentBoard {
  private readonly cards = new Map<string, IncidentCard>();
  private readonly columns = new Map<Column, { head: HTMLElement; list: HTMLOListElement; more: HTMLElement }>();

  constructor(
    private readonly root: HTMLElement,
    private readonly patrolsLine: HTMLElement,
    private readonly live: DispatchLive,
  ) {
    for (const c of [...RUNNING, "closed"] as Column[]) {
      const head = h("h3", { class: "col-head" });
      const list = h("ol", { class: "inc-list", "aria-label": c });
      const more = h("p", { class: "note more" });
      this.root.append(h("section", { class: `inc-col ${c}`, "data-column": c }, head, list, more));
      this.columns.set(c, { head, list, more });
    }
  }

  render(): void {
    const now = Date.now();
    const all = [...this.live.incidents.values()];
    const shown = new Set<string>();
    for (const [c, col] of this.columns) {
      const items =
        c === "closed"
          ? all.filter((i) => isTerminal(i.state)).sort((a, b) => closedAt(b) - closedAt(a))
          : all.filter((i) => i.state === c).sort((a, b) => a.times.openedAt - b.times.openedAt);
      const limit = c === "closed" ? CLOSED_SHOWN : PER_COLUMN;
      const cards = items.slice(0, limit).map((i) => this.card(i, now));
      for (const card of cards) shown.add(card.el.dataset.incident!);
      sync(
        col.list,
        cards.map((card) => card.el),
      );
      col.head.textContent = `${c === "closed" ? t("incClosed") : t(`state_${c}` as Key)} · ${fmtInt(items.length)}`;
      col.list.setAttribute("aria-label", col.head.textContent);
      col.more.textContent = items.length > limit ? t("incMore", { n: fmtInt(items.length - limit) }) : items.length === 0 ? t("incNone") : "";
    }
    for (const id of [...this.cards.keys()]) if (!shown.has(id)) this.cards.delete(id);
    this.renderPatrols();
  }

  /** Ages and lateness move with time alone. */
  tick(): void {
    const now = Date.now();
    for (const c of this.cards.values()) c.tick(now);
  }

  private card(inc: Incident, now: number): IncidentCard {
    let card = this.cards.get(inc.incidentId);
    if (card) card.update(inc, now);
    else this.cards.set(inc.incidentId, (card = new IncidentCard(inc, this.live)));
    return card;
  }

  private renderPatrols(): void {
    const counts = new Map<string, number>();
    for (const p of this.live.patrols.values()) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
    clear(this.patrolsLine);
    if (!this.live.patrols.size) return;
    this.patrolsLine.append(t("incPatrols"), " ");
    PATROL_STATUSES.filter((s) => counts.has(s)).forEach((s, i) => {
      if (i) this.patrolsLine.append(" · ");
      this.patrolsLine.append(
        h("span", { class: `patrol-count ${s}`, "data-status": s }, h("strong", {}, fmtInt(counts.get(s)!)), ` ${t(`status_${s}` as Key)}`),
      );
    });
  }
}

/** Puts exactly these nodes in the list, in this order, moving only those out of place. */
function sync(list: HTMLElement, nodes: HTMLElement[]): void {
  nodes.forEach((n, i) => {
    if (list.children[i] !== n) list.insertBefore(n, list.children[i] ?? null);
  });
  while (list.children.length > nodes.length) list.lastElementChild!.remove();
}
