/**
 * Group commit, written once: calls that arrive while a batch is being prepared or is in flight wait,
 * and are run together as the next batch — one fsync, one Kafka request, one transaction or one read for
 * all of them instead of one each. Batches run one at a time, in arrival order; every caller's promise
 * settles with the batch that carried its item (all of a batch succeed, or all get its error).
 *
 * Users: the embedded journal's appends, KafkaBus sends, a Kafka consumer's commitWith transactions and
 * the etcd threshold store's consistent reads.
 */
export interface CoalescerOptions<T> {
  /**
   * When a batch begins after the coalescer was idle — every call made before then joins it:
   * - "now": at once, with the first call alone (the next batch forms while it is in flight);
   * - "microtask": after the current synchronous run (calls made in the same tick join);
   * - "turn": on the next turn of the event loop (calls made by callbacks of the same I/O join).
   */
  begin: "now" | "microtask" | "turn";
  /** A batch takes items up to this total weight, and at least one; default: every item waiting. */
  limit?: { weight: (item: T) => number; max: number };
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Coalescer<T, R = void> {
  private queue: Array<Waiting<T, R>> = [];
  private draining: Promise<void> | null = null;

  constructor(
    /** Runs one batch: the items in arrival order. */
    private readonly run: (items: T[]) => Promise<R>,
    private readonly options: CoalescerOptions<T>,
  ) {}

  /** Queues `item` for the next batch; settles as that batch does. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Resolves once every batch of the items added so far has settled. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Items waiting for a batch (not those in flight). */
  get waiting(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    try {
      // (not awaited for "now": even `await undefined` would let the rest of this tick's calls in first)
      const wait = begun(this.options.begin);
      if (wait) await wait;
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.takes());
        try {
          const r = await this.run(batch.map((w) => w.item));
          for (const w of batch) w.resolve(r);
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
        // Callers that resumed with this batch's answer may call again within this tick: they join the next.
        await Promise.resolve();
      }
    } finally {
      this.draining = null;
    }
  }

  /** How many of the waiting items the next batch takes. */
  private takes(): number {
    const limit = this.options.limit;
    if (!limit) return this.queue.length;
    let n = 0;
    let total = 0;
    while (n < this.queue.length) {
      const w = limit.weight(this.queue[n]!.item);
      if (n > 0 && total + w > limit.max) break;
      total += w;
      n++;
    }
    return n;
  }
}

function begun(begin: CoalescerOptions<unknown>["begin"]): Promise<void> | void {
  if (begin === "microtask") return Promise.resolve();
  if (begin === "turn") return new Promise<void>((r) => setImmediate(r));
}
