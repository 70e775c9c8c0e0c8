/**
 * Whether a static token (one an operator chose and put in the environment) is fit to guard the API: a
 * placeholder left from `.env.example`, a token printed in acu's docs, or a short or patterned string is
 * refused at start with the reason, since the API trusts whoever holds it.
 */

/** Shortest static token: 32 characters (a base64url token of 24 random bytes or more). */
export const MIN_STATIC_TOKEN_LENGTH = 32;
/** Least estimated entropy of a static token, in bits. */
export const MIN_STATIC_TOKEN_BITS = 128;
/** How to make a good one, said in every refusal. */
export const TOKEN_RECIPE = "openssl rand -base64 32 | tr '+/' '-_' | tr -d =";

/**
 * Tokens written in acu's own files (`.env.example`, README, docs) before they were refused: public, so
 * no secret. tests/compose.test.ts checks that every token the docs show is refused.
 */
const KNOWN_EXAMPLES = new Set(["change-me-ingest-token", "change-me-operator-token", "change-me-viewer-token", "change-me"]);

/** Words only a placeholder or a hand-made token holds (a random token holds one by chance about once in 10^5). */
const PLACEHOLDER = /change[-_ .]?me|replace[-_ .]?me|placeholder|example|your[-_ .]?token|<|>|\u2026|\.\.\./i;

/**
 * Why a token is refused, or null when it is fit. The entropy estimate is a lower bound on what a
 * guesser faces only for patterned tokens: it catches repetition, sequences and small alphabets, not a
 * guessable phrase, so tokens should come from a random generator (TOKEN_RECIPE).
 */
export function staticTokenWeakness(token: string): string | null {
  if (KNOWN_EXAMPLES.has(token.toLowerCase())) return "is an example token printed in acu's own files (public, so no secret)";
  const marker = PLACEHOLDER.exec(token);
  if (marker) return `is a placeholder (it holds "${marker[0]}"), not a token`;
  if (token.length < MIN_STATIC_TOKEN_LENGTH) return `is ${token.length} characters; a static token needs at least ${MIN_STATIC_TOKEN_LENGTH}`;
  const bits = Math.floor(estimatedEntropyBits(token));
  if (bits < MIN_STATIC_TOKEN_BITS)
    return `looks guessable: about ${bits} bits of entropy (repeated or sequential characters, or a small alphabet); at least ${MIN_STATIC_TOKEN_BITS} are needed`;
  return null;
}

/**
 * Entropy estimate of a token, in bits: repeated runs (3+ characters seen before) are dropped, then the
 * rest counts as many bits as the smaller of its characters' and its steps' (differences between
 * neighbours) empirical Shannon entropy allows. `aaaa…`, `abab…`, `abcd…`, `0123…` and a short block
 * repeated all score low; a random base64url token of 32 characters scores about 140.
 */
export function estimatedEntropyBits(token: string): number {
  const novel = withoutRepeats(token);
  const codes = [...novel].map((c) => c.charCodeAt(0));
  const steps = codes.slice(1).map((c, i) => c - codes[i]!);
  return Math.min(shannonBits(codes), shannonBits(steps) + (codes.length > 0 ? Math.log2(94) : 0));
}

/** The token without each run of 3+ characters that already occurred earlier (LZ77-style copies). */
function withoutRepeats(t: string): string {
  let out = "";
  let i = 0;
  while (i < t.length) {
    let len = 0;
    while (i + len < t.length && t.indexOf(t.slice(i, i + len + 1)) < i) len++;
    if (len >= 3) i += len;
    else out += t[i++];
  }
  return out;
}

/**
 * Total Shannon information of a sequence under its own symbol frequencies, n × H, with the Miller–Madow
 * correction ((K − 1) / 2 ln 2 bits for K distinct symbols): a short sample underestimates H, which would
 * refuse a fair 32-character random token now and then.
 */
function shannonBits(symbols: number[]): number {
  const counts = new Map<number, number>();
  for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  let bits = 0;
  for (const c of counts.values()) bits -= c * Math.log2(c / symbols.length);
  return counts.size > 1 ? bits + (counts.size - 1) / (2 * Math.LN2) : bits;
}
