/**
 * Ids each dedupe window keeps unless ACU_DEDUPE_IDS says otherwise: the alert role's (orders) and each of
 * the sink's datasets (reports, orders, incident events). For reports, about 8 minutes at 2,000 reports/s.
 */
export const DEFAULT_DEDUPE_IDS = 1_000_000;

/**
 * Bounds of ACU_DEDUPE_IDS. A window holds about 160 bytes of heap per id (ids of about 10 characters;
 * about 270 with 64-character student and report ids): 1,000,000 ids ≈ 160 MB, the maximum ≈ 1.6 GB.
 */
export const DEDUPE_IDS_LIMITS = { min: 1_000, max: 10_000_000 } as const;

/**
 * The newest `capacity` ids seen, in insertion order. Consumers use it to make redelivered or resent
 * messages idempotent: a report resent by a laptop, an order published again after a crash.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private order: string[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    this.order.push(id);
    if (this.order.length - this.head > this.capacity) {
      this.ids.delete(this.order[this.head]!);
      this.head++;
      // Compact now and then instead of shifting on every eviction.
      if (this.head > 65536) {
        this.order = this.order.slice(this.head);
        this.head = 0;
      }
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
