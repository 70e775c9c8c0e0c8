// Imported as text so `bun build --compile` embeds the dashboard in the binary.
import html from "./index.html" with { type: "text" };
import appJs from "./app.js" with { type: "text" };
import css from "./style.css" with { type: "text" };

export const dashboard = {
  html: html as unknown as string,
  assets: {
    "app.js": { body: appJs as unknown as string, type: "text/javascript; charset=utf-8" },
    "style.css": { body: css as unknown as string, type: "text/css; charset=utf-8" },
  } as Record<string, { body: string; type: string }>,
};
