/** Thresholds: the default and each exercise's own, edited with the operator token; the API's answer is shown at once. */
import { ApiError, api, type Thresholds } from "./api.ts";
import { byId, clear, h } from "./dom.ts";
import { t } from "./i18n.ts";
import { forgetToken, hasToken, onTokenChange, withToken } from "./token.ts";

/** What the operator typed, as the API should judge it: a number when it reads as one, else the text itself. */
function parse(raw: string): unknown {
  const s = raw.trim().replace(",", ".");
  if (s === "") return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : raw;
}

export class ThresholdsPanel {
  private state: Thresholds | null = null;
  private knownExercises: string[] = [];
  private rendered = "";

  constructor(private readonly onChange: (next: Thresholds) => void) {
    byId("th-default-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const v = parse(byId<HTMLInputElement>("th-default").value);
      void this.act(
        byId("th-default-form"),
        (tok) => api.setDefault(tok, v),
        (s) => t("thSavedDefault", { v: s.default }),
      );
    });
    byId("th-add-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const form = byId("th-add-form");
      const ex = byId<HTMLInputElement>("th-add-ex").value.trim();
      if (!ex) return this.say(form, t("thNeedExercise"), true);
      const v = parse(byId<HTMLInputElement>("th-add-val").value);
      void this.act(
        form,
        (tok) => api.setThreshold(tok, ex, v),
        (s) => t("thSaved", { ex, v: s.thresholds[ex] ?? "?" }),
      ).then((ok) => {
        if (ok) byId<HTMLInputElement>("th-add-val").value = "";
      });
    });
    byId("token-forget").addEventListener("click", () => forgetToken());
    onTokenChange(() => this.renderToken());
    this.renderToken();
  }

  set(s: Thresholds): void {
    this.state = s;
    this.render();
  }

  setKnownExercises(ids: string[]): void {
    this.knownExercises = ids;
    const list = byId("th-exercises");
    clear(list);
    for (const id of ids) list.append(h("option", { value: id }));
  }

  render(): void {
    const s = this.state;
    if (!s) return;
    const def = byId<HTMLInputElement>("th-default");
    if (document.activeElement !== def) def.value = String(s.default);
    byId("th-rev").textContent = t("thRevision", { n: s.revision });
    const tbody = byId("th-rows");
    // Rebuild the rows only when they change (or the language does): what the operator types and the
    // messages beside it stay while the page polls.
    const key = `${document.documentElement.lang}|${JSON.stringify(s.thresholds)}`;
    if (key === this.rendered) return;
    this.rendered = key;
    clear(tbody);
    const ids = Object.keys(s.thresholds).sort();
    byId("th-none").hidden = ids.length > 0;
    for (const id of ids) {
      const input = h("input", {
        type: "text",
        inputmode: "numeric",
        value: s.thresholds[id]!,
        size: 4,
        "aria-label": `${t("colThreshold")} ${id}`,
        "data-exercise": id,
      });
      const form = h("form", { class: "inline", novalidate: true }, input, h("span", { class: "unit" }, "%"), h("button", { type: "submit" }, t("thSave")));
      const reset = h("button", { type: "button", class: "ghost" }, t("thRemove"));
      const msg = h("span", { class: "msg", role: "status" });
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        const v = parse(input.value);
        void this.act(
          form,
          (tok) => api.setThreshold(tok, id, v),
          (next) => t("thSaved", { ex: id, v: next.thresholds[id] ?? "?" }),
          msg,
        );
      });
      reset.addEventListener(
        "click",
        () =>
          void this.act(
            form,
            (tok) => api.removeThreshold(tok, id),
            () => t("thRemoved", { ex: id }),
            msg,
          ),
      );
      tbody.append(h("tr", { "data-exercise": id }, h("th", { scope: "row" }, id), h("td", {}, form), h("td", {}, reset, msg)));
    }
  }

  private renderToken(): void {
    byId("token-state").hidden = !hasToken();
  }

  private say(near: HTMLElement, text: string, error: boolean, el?: HTMLElement): void {
    const msg = el ?? (near.querySelector(".msg") as HTMLElement | null) ?? byId("th-msg");
    msg.textContent = text;
    msg.classList.toggle("error", error);
    msg.setAttribute("role", error ? "alert" : "status");
  }

  /** Runs an operator change; shows the API's message when it refuses. True when it was applied. */
  private async act(form: HTMLElement, call: (token: string) => Promise<Thresholds>, ok: (s: Thresholds) => string, msgEl?: HTMLElement): Promise<boolean> {
    const buttons = [...form.querySelectorAll("button")];
    for (const b of buttons) b.disabled = true;
    try {
      const next = await withToken(call);
      if (!next) return false;
      this.state = next;
      (document.activeElement as HTMLElement | null)?.blur?.();
      this.render();
      this.onChange(next);
      this.say(form, ok(next), false, msgEl && document.contains(msgEl) ? msgEl : byId("th-msg"));
      return true;
    } catch (e) {
      this.say(form, e instanceof ApiError ? e.message : String(e), true, msgEl);
      return false;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  get exercises(): string[] {
    return this.knownExercises;
  }
}
