/** The operator token: asked once in a dialog, kept in this page's memory only (never stored). */
import { byId } from "./dom.ts";
import { t } from "./i18n.ts";

let token: string | null = null;
const listeners = new Set<() => void>();

export const hasToken = () => token !== null;
export function onTokenChange(f: () => void): void {
  listeners.add(f);
}
export function forgetToken(): void {
  token = null;
  for (const f of listeners) f();
}

/** The token, asking for it when the page does not hold one yet; null when the operator cancels. */
export function requireToken(reason?: string): Promise<string | null> {
  if (token) return Promise.resolve(token);
  const dialog = byId<HTMLDialogElement>("token-dialog");
  const input = byId<HTMLInputElement>("token-input");
  const msg = byId("token-msg");
  msg.textContent = reason ?? t("tokHelp");
  input.value = "";
  return new Promise((resolve) => {
    const done = () => {
      dialog.removeEventListener("close", done);
      const v = dialog.returnValue === "ok" ? input.value.trim() : "";
      input.value = "";
      if (v) {
        token = v;
        for (const f of listeners) f();
      }
      resolve(v || null);
    };
    dialog.addEventListener("close", done);
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

/**
 * Runs an operator call with the token; a 401 forgets it and asks once more. Returns null when the operator
 * cancels. Other errors propagate with the API's message.
 */
export async function withToken<T>(call: (token: string) => Promise<T>): Promise<T | null> {
  let reason: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const tok = await requireToken(reason);
    if (!tok) return null;
    try {
      return await call(tok);
    } catch (e) {
      if ((e as { status?: number }).status !== 401) throw e;
      forgetToken();
      reason = t("tokRefused");
    }
  }
  return null;
}
