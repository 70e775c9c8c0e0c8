/**
 * CSV (RFC 4180) of a table: a header row of column names, CRLF line ends, a field quoted when it holds a
 * comma, a quote, a line break or edge spaces (quotes doubled). A null is an empty field; a number is
 * written as JavaScript's shortest round-trip form, so parsing it back gives the same number.
 */

export type Cell = string | number | null;

export interface Column {
  readonly name: string;
  readonly kind: "string" | "number";
}

/** Rows of cells in the columns' order. */
export interface DataTable {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly Cell[])[];
}

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

function field(v: Cell): string {
  if (v === null) return "";
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : v;
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(t: DataTable): string {
  const lines = [t.columns.map((c) => field(c.name)).join(",")];
  for (const row of t.rows) lines.push(row.map(field).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
