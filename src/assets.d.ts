// Files imported `with { type: "file" }` or `{ type: "text" }`: Bun gives a path or the text.
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*.css" {
  const text: string;
  export default text;
}
