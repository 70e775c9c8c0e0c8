export type Verdict = { ok: true } | { ok: false; retryAfterS: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept per limiter by default: about 100 bytes each, so some 10 MB at most. */
export const DEFAULT_MAX_BUCKETS = 100_000;

/**
 * Token buckets per key, weighted by cost: a batch of 500 reports takes 500. Hand-written because the
 * npm limiters count requests (or need Redis); this one is a few lines, in process. Each ingest process
 * keeps its own buckets, so N ingest processes behind a balancer admit up to N × the rate per key.
 *
 * At most `maxBuckets` keys are kept, in two generations of half as many: a key used is in the young one;
 * when it is full, the old one is dropped and the young one becomes old. So the keys dropped are the
 * ones unused for the longest (an LRU in O(1) per use: a Map reordered at each use slows down as it
 * fills). A bucket idle for `burstSeconds` is full again, i.e. holds nothing worth keeping: a drop changes
 * nothing unless more than maxBuckets / 2 keys were used within that time (then a dropped key starts again
 * from a full bucket).
 */
export class RateLimiter {
  private young = new Map<string, Bucket>();
  private old = new Map<string, Bucket>();
  readonly burst: number;

  /** `ratePerSecond` refills each bucket; it holds at most `burstSeconds` worth. */
  constructor(
    readonly ratePerSecond: number,
    readonly burstSeconds = 2,
    readonly maxBuckets = DEFAULT_MAX_BUCKETS,
  ) {
    this.burst = ratePerSecond * burstSeconds;
  }

  /** Keys held now (bounded by maxBuckets). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /**
   * Takes `cost` from `key`'s bucket, or says how many whole seconds (≥ 1) to wait. A cost above the burst
   * passes when the bucket is full and leaves it in debt, so a large batch is never refused forever and the
   * long-run rate still holds.
   */
  take(key: string, cost: number, now = performance.now()): Verdict {
    const v = this.check(key, cost, now);
    if (v.ok) this.commit(key, cost, now);
    return v;
  }

  /** What take() would answer, taking nothing: several buckets are checked before any is charged. */
  check(key: string, cost: number, now = performance.now()): Verdict {
    const tokens = this.level(key, now);
    const need = Math.min(cost, this.burst);
    if (tokens >= need) return { ok: true };
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((need - tokens) / this.ratePerSecond)) };
  }

  /** Charges `cost` to `key`'s bucket (after check() said yes). */
  commit(key: string, cost: number, now = performance.now()): void {
    const tokens = this.level(key, now);
    if (!this.young.has(key)) {
      this.old.delete(key);
      if (this.young.size >= Math.max(1, Math.floor(this.maxBuckets / 2))) {
        this.old = this.young;
        this.young = new Map();
      }
    }
    this.young.set(key, { tokens: tokens - cost, at: now });
  }

  /** The bucket's tokens at `now`, refilled since its last use (a key never seen, or dropped, is full). */
  private level(key: string, now: number): number {
    const b = this.young.get(key) ?? this.old.get(key);
    return b ? Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond) : this.burst;
  }
}

/** Which limit refused a request, and for how long. */
export type Refusal =
  | { ok: false; limit: "token"; ratePerSecond: number; retryAfterS: number }
  | { ok: false; limit: "student"; studentId: string; ratePerSecond: number; retryAfterS: number };

/**
 * The ingest role's two limits: per token, and per student of each token (sub-buckets), so one laptop
 * flooding under the shared token is refused on its own bucket before it takes the token's whole rate.
 * A request is charged to every bucket or to none: refused, it costs nothing.
 */
export class IngestLimits {
  constructor(
    readonly perToken: RateLimiter | null,
    readonly perStudent: RateLimiter | null,
  ) {}

  admit(tokenId: string, studentIds: readonly string[], now = performance.now()): { ok: true } | Refusal {
    const costs = new Map<string, number>();
    if (this.perStudent) for (const s of studentIds) costs.set(s, (costs.get(s) ?? 0) + 1);
    for (const [studentId, cost] of costs) {
      const v = this.perStudent!.check(studentKey(tokenId, studentId), cost, now);
      if (!v.ok) return { ok: false, limit: "student", studentId, ratePerSecond: this.perStudent!.ratePerSecond, retryAfterS: v.retryAfterS };
    }
    const t = this.perToken?.check(tokenId, studentIds.length, now);
    if (t && !t.ok) return { ok: false, limit: "token", ratePerSecond: this.perToken!.ratePerSecond, retryAfterS: t.retryAfterS };
    for (const [studentId, cost] of costs) this.perStudent!.commit(studentKey(tokenId, studentId), cost, now);
    this.perToken?.commit(tokenId, studentIds.length, now);
    return { ok: true };
  }
}

/** NUL cannot occur in a token id, so two (token, student) pairs never share a key. */
const studentKey = (tokenId: string, studentId: string) => `${tokenId}\u0000${studentId}`;
