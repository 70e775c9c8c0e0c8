/**
 * The page's API token (viewer or operator; on the patrol's page, that patrol's token). It arrives once in the
 * URL fragment (`/#token=…`, as the demo prints it: a fragment is never sent to the server nor written in its
 * logs), is kept in sessionStorage
 * (this tab only, gone when it closes) and removed from the address bar so it is not bookmarked or shared
 * by copying the URL. When a call is refused the page asks for a token in a dialog.
 */
import { byId } from "./dom.ts";
import { t } from "./i18n.ts";

const KEY = "acu.token";
const listeners = new Set<() => void>();

function stored(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the token lives in memory only
  }
}

/** The fragment's parameters as the page was opened (`#token=…&patrol=p-07`), read before the token leaves it. */
const fragment = new URLSearchParams(location.hash.slice(1));

let token: string | null = fromFragment() ?? stored();

/** Takes `token=…` out of the address bar, keeping it for this tab; the fragment's other parameters stay. */
function fromFragment(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return null;
  const v = decodeURIComponent(m[1]!).trim();
  const rest = new URLSearchParams(location.hash.slice(1));
  rest.delete("token");
  const hash = rest.toString();
  history.replaceState(null, "", location.pathname + location.search + (hash ? `#${hash}` : ""));
  if (!v) return null;
  keep(v);
  return v;
}

/** A parameter of the fragment the page was opened with (e.g. the patrol's id), or null. */
export function fragmentParam(name: string): string | null {
  const v = fragment.get(name)?.trim();
  return v ? v : null;
}

function keep(v: string | null): void {
  try {
    if (v) sessionStorage.setItem(KEY, v);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: memory only.
  }
}

function set(v: string | null): void {
  token = v;
  keep(v);
  for (const f of listeners) f();
}

export const hasToken = () => token !== null;
export const currentToken = () => token;
export function onTokenChange(f: () => void): void {
  listeners.add(f);
}
export function forgetToken(): void {
  set(null);
}

/** The one dialog open at a time: calls refused together share it. */
let asking: Promise<string | null> | null = null;

/** Asks for a token in the dialog; null when the user cancels. */
export function askToken(reason: string): Promise<string | null> {
  return (asking ??= new Promise<string | null>((resolve) => {
    const dialog = byId<HTMLDialogElement>("token-dialog");
    const input = byId<HTMLInputElement>("token-input");
    byId("token-msg").textContent = reason;
    input.value = "";
    const done = () => {
      dialog.removeEventListener("close", done);
      const v = dialog.returnValue === "ok" ? input.value.trim() : "";
      input.value = "";
      asking = null;
      if (v) set(v);
      resolve(v || null);
    };
    dialog.addEventListener("close", done);
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  }));
}

/** What the dialog says when a read is refused: the page's own words (the dashboard's by default). */
let readingPrompt = () => t("tokView");
export function setReadingPrompt(prompt: () => string): void {
  readingPrompt = prompt;
}

/** The user cancelled the dialog for a read: polls do not ask again until an action of theirs does. */
let declined = false;

/**
 * A read refused with 401: asks once for a token (viewer or operator) and says whether to retry. Polling
 * calls refused after the user cancelled do not reopen the dialog.
 */
export async function tokenForReading(): Promise<boolean> {
  if (declined && !asking) return false;
  const v = await askToken(readingPrompt());
  declined = v === null;
  return v !== null;
}

/**
 * Runs an operator call with the token held, asking for one when there is none; a 401 (unknown token) or
 * 403 (a viewer token) asks again, once. Returns null when the user cancels. Other errors propagate with the
 * API's message.
 */
export async function withToken<T>(call: (token: string) => Promise<T>): Promise<T | null> {
  declined = false;
  let tok = token ?? (await askToken(t("tokHelp")));
  for (let attempt = 0; tok && attempt < 2; attempt++) {
    try {
      return await call(tok);
    } catch (e) {
      const status = (e as { status?: number }).status;
      if ((status !== 401 && status !== 403) || attempt === 1) throw e;
      tok = await askToken(status === 401 ? t("tokRefused") : t("tokOperator"));
    }
  }
  return null;
}
