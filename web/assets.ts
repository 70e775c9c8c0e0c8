// The browser pages, embedded in the program: the operators' dashboard (`/`) and the patrol's phone page
// (`/patrol`), their pages and stylesheets as text, their scripts bundled from web/src/ by a macro at bundle
// time (`bun run` and `bun build --compile` alike), so dist/acu serves them with nothing beside it.
import html from "./index.html" with { type: "text" };
import patrolHtml from "./patrol.html" with { type: "text" };
import css from "./style.css" with { type: "text" };
import patrolCss from "./patrol.css" with { type: "text" };
import { browserScripts } from "./bundle.ts" with { type: "macro" };

const scripts: { js: string; patrolJs: string } = browserScripts();
const js = (body: string) => ({ body, type: "text/javascript; charset=utf-8" });
const stylesheet = (body: unknown) => ({ body: body as string, type: "text/css; charset=utf-8" });

export const dashboard = {
  html: html as unknown as string,
  /** Served at GET /patrol. */
  patrolHtml: patrolHtml as unknown as string,
  assets: {
    "app.js": js(scripts.js),
    "style.css": stylesheet(css),
    "patrol.js": js(scripts.patrolJs),
    "patrol.css": stylesheet(patrolCss),
  } as Record<string, { body: string; type: string }>,
};
