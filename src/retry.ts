/**
 * The one backoff of acu: exponential, capped, with full jitter. The wait before retry n (1 = the first
 * retry) is drawn uniformly from [0, min(cap, base · 2^(n−1))). Jitter matters because failures come
 * together: the partitions of a consumer, the processes of a deployment or the writers of one lake all
 * fail when their engine does, and without it they would all come back in the same millisecond, again and
 * again ("Exponential Backoff And Jitter", AWS Architecture Blog: full jitter spreads them best).
 */
export interface Backoff {
  /** Bound of the first wait, ms. */
  baseMs: number;
  /** Bound of every wait, ms. */
  capMs: number;
}

/** The wait before retry `retry` (1 = the first), ms: at random below min(cap, base · 2^(retry−1)). */
export function backoffDelay(backoff: Backoff, retry: number, random: () => number = Math.random): number {
  // The exponent is bounded so that a long outage (retry 2000) cannot overflow to Infinity · 0 = NaN.
  const bound = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(Math.max(0, retry - 1), 40));
  return Math.floor(random() * bound);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export interface RetryOptions extends Backoff {
  /** Tries in all, the first included. Default: no bound (then `signal` or `deadlineMs` must end it). */
  attempts?: number;
  /** No try begins later than this many ms after the first one began. */
  deadlineMs?: number;
  /** Aborted: no further try, and a wait under way ends at once. */
  signal?: AbortSignal;
  /** Whether another try may help; default: every error. */
  retriable?: (error: unknown) => boolean;
  /** Told of each failure that is about to be retried, with the wait before the next try (to log it). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** The source of the jitter; tests pass their own. */
  random?: () => number;
}

/**
 * `f` until it resolves. Rejects with f's last error when it is not retriable, when the attempts or the
 * deadline are used up, or when `signal` aborts. `f` is given the number of its try (1 = the first).
 */
export async function retry<T>(f: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await f(attempt);
    } catch (e) {
      if (o.signal?.aborted || attempt >= (o.attempts ?? Infinity) || !(o.retriable?.(e) ?? true)) throw e;
      let delay = backoffDelay(o, attempt, o.random);
      if (o.deadlineMs !== undefined) {
        const left = started + o.deadlineMs - Date.now();
        if (left <= 0) throw e;
        delay = Math.min(delay, left);
      }
      o.onRetry?.(e, attempt, delay);
      await sleep(delay, o.signal);
      if (o.signal?.aborted) throw e;
    }
  }
}

/** p, or a rejection with `why` after `ms` (p goes on; its outcome is ignored). */
export function deadline<T>(p: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p.finally(() => clearTimeout(timer)), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)))]);
}
