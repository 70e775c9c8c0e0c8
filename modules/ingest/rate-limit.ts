/**
 * Per-token token buckets weighted by cost: a batch of 500 reports takes 500. Hand-written because the
 * npm limiters count requests (or need Redis); this one is a few lines, in process. Each ingest process
 * keeps its own buckets, so N ingest processes behind a balancer admit up to N × the rate per token.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  readonly burst: number;

  /** `ratePerSecond` refills each bucket; it holds at most `burstSeconds` worth. */
  constructor(
    readonly ratePerSecond: number,
    burstSeconds = 2,
  ) {
    this.burst = ratePerSecond * burstSeconds;
  }

  /**
   * Takes `cost` from `key`'s bucket, or says how many whole seconds (≥ 1) to wait. A cost above the burst
   * passes when the bucket is full and leaves it in debt, so a large batch is never refused forever and the
   * long-run rate still holds.
   */
  take(key: string, cost: number, now = performance.now()): { ok: true } | { ok: false; retryAfterS: number } {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 100_000) this.evictFull(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    const need = Math.min(cost, this.burst);
    if (b.tokens >= need) {
      b.tokens -= cost;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((need - b.tokens) / this.ratePerSecond)) };
  }

  /** Buckets that refilled completely hold no state worth keeping. */
  private evictFull(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.ratePerSecond >= this.burst) this.buckets.delete(k);
  }
}
