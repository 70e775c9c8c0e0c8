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
