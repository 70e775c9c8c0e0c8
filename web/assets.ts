// The dashboard, embedded in the program: the page and stylesheet as text, the script bundled from
// web/src/ by a macro at bundle time (`bun run` and `bun build --compile` alike), so dist/acu serves it
// with nothing beside it.
import html from "./index.html" with { type: "text" };
import css from "./style.css" with { type: "text" };
import { dashboardScript } from "./bundle.ts" with { type: "macro" };

const appJs: string = dashboardScript();

export const dashboard = {
  html: html as unknown as string,
  assets: {
    "app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
    "style.css": { body: css as unknown as string, type: "text/css; charset=utf-8" },
  } as Record<string, { body: string; type: string }>,
};
