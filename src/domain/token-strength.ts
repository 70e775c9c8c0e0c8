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

/** Below this many bits per character (of its characters or of its steps), a token is patterned. */
const PATTERN_BITS_PER_CHAR = 2.5;

/**
 * Entropy estimate of a token, in bits. Repeated runs (5+ characters seen before) are dropped; what is
 * left counts log2 of its alphabet per character (hex 4, base64url 6, …), unless it is patterned: when
 * its characters, or its steps (differences between neighbours), carry under 2.5 bits each by their own
 * Shannon entropy (`aaaa…`, `abab…`, `abcd…`, `0123…`), it counts only that Shannon information. A
 * random 32-character hex string scores 128, a random base64url one of 32 characters 192.
 */
export function estimatedEntropyBits(token: string): number {
  const novel = withoutRepeats(token);
  const codes = [...novel].map((c) => c.charCodeAt(0));
  const steps = codes.slice(1).map((c, i) => c - codes[i]!);
  const shannon = Math.min(shannonBits(codes), shannonBits(steps) + (codes.length > 0 ? Math.log2(94) : 0));
  const patterned = codes.length < 2 || shannonBits(codes) < PATTERN_BITS_PER_CHAR * codes.length || shannonBits(steps) < PATTERN_BITS_PER_CHAR * steps.length;
  return patterned ? shannon : novel.length * Math.log2(alphabetSize(novel));
}

/** How many characters a generator of this token's kind draws from: hex, or the classes it uses. */
function alphabetSize(t: string): number {
  if (/^[0-9a-f]+$/.test(t) || /^[0-9A-F]+$/.test(t)) return 16;
  let n = 0;
  if (/[0-9]/.test(t)) n += 10;
  if (/[a-z]/.test(t)) n += 26;
  if (/[A-Z]/.test(t)) n += 26;
  if (/[-_]/.test(t)) n += 2;
  if (/[^0-9a-zA-Z_-]/.test(t)) n += 30;
  return n;
}

/** A run this long seen before is a copy; shorter ones recur by chance in a random hex token (1 in 3000 for 5). */
const MIN_COPY = 5;

/** The token without each run of MIN_COPY+ characters that already occurred earlier (LZ77-style copies). */
function withoutRepeats(t: string): string {
  let out = "";
  let i = 0;
  while (i < t.length) {
    let len = 0;
    while (i + len < t.length && t.indexOf(t.slice(i, i + len + 1)) < i) len++;
    if (len >= MIN_COPY) i += len;
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
