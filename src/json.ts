/**
 * JSON input, bounded in depth before it is parsed. acu's bodies and records nest two levels (a batch:
 * an array of flat objects); a body of 100,000 nested brackets parses into 100,000 arrays, and 16 such
 * requests at once took an all-in-one process from 340 MiB to 1.2 GiB of peak RSS (tests/fuzz). The scan
 * is one pass over the text, a fraction of what JSON.parse costs on it.
 */
export const MAX_JSON_DEPTH = 16;

export class JsonInputError extends Error {}
/** The text nests deeper than the bound (it was not parsed). */
export class JsonTooDeepError extends JsonInputError {}

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of arrays and objects in `text` (brackets inside strings do not count), stopping once past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return deepest;
}

/** JSON.parse, refusing text nested deeper than `maxDepth` (JsonTooDeepError naming the limit) or not JSON (JsonInputError). */
export function parseJson(text: string, what: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) throw new JsonTooDeepError(`${what} nests arrays and objects deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text);
  } catch {
    throw new JsonInputError(`${what} is not valid JSON`);
  }
}
