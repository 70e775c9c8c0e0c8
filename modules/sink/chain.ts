import { z } from "zod";
import { LAKE_DIRS, parseLakePath } from "../../src/domain/lake-layout.ts";
import type { Lake } from "../../src/ports/lake.ts";
import { partitionKey } from "./partition-buffer.ts";

/**
 * The chain of a partition's lake files: one link per file, named after the file's first offset and made
 * with `createExclusive`, so a start can be claimed once, by one writer, whatever the number of sinks and
 * whenever the bus moves partitions between them. A link names the file's last offset and path: that is
 * the file's range, decided once. A writer claims the start right after the end of the chain it knows;
 * finding it claimed, it takes the claimed range as done (publishing it itself when the file is missing
 * and it holds those records) and goes on after it. Before claiming a start it makes sure the file of the
 * link before it exists, so only a chain's last link can lack its file (its writer died between link and
 * file). Data files without a link (written before the chain existed) count as links: nothing to migrate.
 * The argument is written out in docs/guarantees.md.
 */
export const CHAIN_DIR = "_chain";

export interface ChainLink {
  /** Lake offsets (bus offset + the epoch's base), both in the file. */
  first: number;
  last: number;
  /** The data file's lake path: whoever publishes this range publishes it there. */
  path: string;
}

/** Where a partition's chain stands, as this process knows it. */
export interface ChainPosition {
  /** Last offset of the chain whose file is known to be in the lake; -1 when none. */
  end: number;
  /** The link after `end`, its file not seen in the lake yet: exactly its range goes to its path before anything after it. */
  pending?: ChainLink;
}

const LINK_NAME = /^_chain\/([A-Za-z0-9._-]+)\/p(\d+)\/(\d{12})$/;

const linkSchema = z
  .object({ first: z.number().int().nonnegative(), last: z.number().int().nonnegative(), path: z.string().min(1).max(1000) })
  .refine((l) => l.last >= l.first, "last before first");

const pad = (n: number) => String(n).padStart(12, "0");

export function linkPath(topic: string, partition: number, first: number): string {
  return `${CHAIN_DIR}/${topic}/p${partition}/${pad(first)}`;
}

export function encodeLink(l: ChainLink): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ first: l.first, last: l.last, path: l.path }));
}

/** A link as stored, checked against its name and its file's name: anything else cannot be reconciled and is refused. */
export function parseLink(bytes: Uint8Array, where: { topic: string; partition: number; first: number }): ChainLink {
  const name = linkPath(where.topic, where.partition, where.first);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`lake chain link ${name} is not JSON: ${(e as Error).message}`);
  }
  const r = linkSchema.safeParse(raw);
  if (!r.success) throw new Error(`lake chain link ${name} is not valid: ${r.error.issues[0]?.message}`);
  const f = parseLakePath(r.data.path);
  if (
    r.data.first !== where.first ||
    !f ||
    f.topic !== where.topic ||
    f.partition !== where.partition ||
    f.firstOffset !== r.data.first ||
    f.lastOffset !== r.data.last
  )
    throw new Error(`lake chain link ${name} does not match its file ${r.data.path} (first ${r.data.first}, last ${r.data.last})`);
  return r.data;
}

export async function readLink(lake: Lake, topic: string, partition: number, first: number): Promise<ChainLink> {
  return parseLink(await lake.read(linkPath(topic, partition, first)), { topic, partition, first });
}

/** The data file is in the lake (one listing of its folder). */
export async function fileExists(lake: Lake, path: string): Promise<boolean> {
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  return (await lake.list(dir)).some((f) => f.path === path);
}

/**
 * Every partition's chain position from the lake: its highest link (the only one that may lack its file)
 * and its data files. `highest` also counts a last link whose file is missing: its range was on the bus.
 */
export async function readChains(lake: Lake): Promise<Map<string, ChainPosition & { highest: number }>> {
  const files = new Map<string, { highest: number; paths: Set<string> }>();
  for (const dir of Object.values(LAKE_DIRS)) {
    for (const f of await lake.list(`${dir}/`)) {
      const n = parseLakePath(f.path);
      if (!n) continue;
      const k = partitionKey(n.topic, n.partition);
      const e = files.get(k) ?? { highest: -1, paths: new Set<string>() };
      e.highest = Math.max(e.highest, n.lastOffset);
      e.paths.add(f.path);
      files.set(k, e);
    }
  }
  const lastLinks = new Map<string, { topic: string; partition: number; first: number }>();
  for (const f of await lake.list(`${CHAIN_DIR}/`)) {
    const m = LINK_NAME.exec(f.path);
    if (!m) continue;
    const l = { topic: m[1]!, partition: Number(m[2]), first: Number(m[3]) };
    const k = partitionKey(l.topic, l.partition);
    if ((lastLinks.get(k)?.first ?? -1) < l.first) lastLinks.set(k, l);
  }
  const out = new Map<string, ChainPosition & { highest: number }>();
  for (const [k, e] of files) out.set(k, { end: e.highest, highest: e.highest });
  for (const [k, l] of lastLinks) {
    const link = await readLink(lake, l.topic, l.partition, l.first);
    const data = files.get(k);
    const end = data?.highest ?? -1;
    // Its file missing and nothing written past its start: the one link to publish before going on.
    if (!data?.paths.has(link.path) && end < link.first) out.set(k, { end, pending: link, highest: link.last });
    else out.set(k, { end: Math.max(end, link.last), highest: Math.max(end, link.last) });
  }
  return out;
}
