// `import sql from "./migrations/001_init.sql" with { type: "text" }` — Bun inlines the file (also in `bun build --compile`).
declare module "*.sql" {
  const text: string;
  export default text;
}
