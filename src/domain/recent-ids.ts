/**
 * Ids each dedupe window keeps unless ACU_DEDUPE_IDS says otherwise: the alert role's (orders) and each of
 * the sink's datasets (reports, orders, incident events). For reports, about 8 minutes at 2,000 reports/s.
 */
export const DEFAULT_DEDUPE_IDS = 1_000_000;

/**
 * Bounds of ACU_DEDUPE_IDS. A window holds at most about 28 bytes per id whatever the id's length (a
 * 96-bit fingerprint in the ring, a slot in the table): 1,000,000 ids ≈ 28 MB, the maximum ≈ 280 MB.
 */
export const DEDUPE_IDS_LIMITS = { min: 1_000, max: 10_000_000 } as const;

/** Words of a fingerprint: three 32-bit hashes of the id under three seeds, 96 bits together. */
const WORDS = 3;
const SEEDS = [0x2545f491, 0x9e3779b9, 0x85ebca6b] as const;
/** Smallest ring and table, grown by doubling up to the capacity: an idle window costs next to nothing. */
const FIRST_SIZE = 1024;

/**
 * The newest `capacity` ids seen, in insertion order. Consumers use it to make redelivered or resent
 * messages idempotent: a report resent by a laptop, an order published again after a crash.
 *
 * Ids are kept as 96-bit fingerprints, not strings: a window of a million report keys was ~160 MB of
 * strings and Set entries (most of the all-in-one process's growth with volume), and is ~28 MB here. Two
 * different ids are taken for one only when all 96 bits agree: about 1 in 10^23 per lookup against a full
 * window of a million, i.e. never in the life of any deployment — far below a disk's undetected error rate.
 *
 * Layout: a ring of fingerprints in insertion order (the oldest evicted first) and an open-addressing
 * table (linear probing, load ≤ 1/2) of ring positions + 1, 0 for an empty slot. An eviction removes its
 * slot by backward shift, so no tombstones accumulate.
 */
export class RecentIds {
  private ring = new Uint32Array(FIRST_SIZE * WORDS);
  private slots = new Int32Array(FIRST_SIZE * 2);
  /** Ring position of the oldest id; ids in the ring; slots in use (always `count`). */
  private oldest = 0;
  private count = 0;
  private readonly probe = new Uint32Array(WORDS);

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`RecentIds: capacity must be a positive integer, got ${capacity}`);
  }

  has(id: string): boolean {
    this.fingerprint(id);
    return this.find() >= 0;
  }

  add(id: string): void {
    this.fingerprint(id);
    if (this.find() >= 0) return;
    if (this.count === this.capacity) this.evictOldest();
    else if (this.count === this.ringSize()) this.grow();
    const pos = (this.oldest + this.count) % this.ringSize();
    this.ring.set(this.probe, pos * WORDS);
    this.count++;
    this.place(pos);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes of its ring and table (all it holds besides a few fields): what ACU_DEDUPE_IDS costs. */
  get bytes(): number {
    return this.ring.byteLength + this.slots.byteLength;
  }

  private ringSize(): number {
    return this.ring.length / WORDS;
  }

  private fingerprint(id: string): void {
    for (let w = 0; w < WORDS; w++) this.probe[w] = Bun.hash.murmur32v3(id, SEEDS[w]);
  }

  /** The slot holding the probed fingerprint, or -1. */
  private find(): number {
    const mask = this.slots.length - 1;
    for (let s = this.probe[0]! & mask; ; s = (s + 1) & mask) {
      const held = this.slots[s]!;
      if (held === 0) return -1;
      if (this.sameAsProbe(held - 1)) return s;
    }
  }

  private sameAsProbe(pos: number): boolean {
    const at = pos * WORDS;
    return this.ring[at] === this.probe[0] && this.ring[at + 1] === this.probe[1] && this.ring[at + 2] === this.probe[2];
  }

  /** The slot holding ring position `pos` (searched from its home, by position: no fingerprint compared), or -1. */
  private slotOf(pos: number): number {
    const mask = this.slots.length - 1;
    for (let s = this.ring[pos * WORDS]! & mask; ; s = (s + 1) & mask) {
      const held = this.slots[s]!;
      if (held === pos + 1) return s;
      if (held === 0) return -1;
    }
  }

  /** Puts ring position `pos` in the first free slot from its home. */
  private place(pos: number): void {
    const mask = this.slots.length - 1;
    let s = this.ring[pos * WORDS]! & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = pos + 1;
  }

  /** Removes the oldest id: its slot by backward shift (later entries of its run move up), its ring place freed. */
  private evictOldest(): void {
    const mask = this.slots.length - 1;
    let hole = this.slotOf(this.oldest);
    if (hole < 0) throw new Error("RecentIds: the oldest id has no slot (table and ring disagree)");
    for (let s = (hole + 1) & mask; this.slots[s] !== 0; s = (s + 1) & mask) {
      const home = this.ring[(this.slots[s]! - 1) * WORDS]! & mask;
      // The entry at s may fill the hole only if its home is not between the hole (exclusive) and s (inclusive).
      const between = hole <= s ? home > hole && home <= s : home > hole || home <= s;
      if (!between) {
        this.slots[hole] = this.slots[s]!;
        hole = s;
      }
    }
    this.slots[hole] = 0;
    this.oldest = (this.oldest + 1) % this.ringSize();
    this.count--;
  }

  /** Doubles the ring (up to the capacity) and the table, keeping insertion order. Only before the ring wraps. */
  private grow(): void {
    const size = Math.min(this.capacity, this.ringSize() * 2);
    const ring = new Uint32Array(size * WORDS);
    ring.set(this.ring.subarray(0, this.count * WORDS));
    this.ring = ring;
    this.oldest = 0;
    let table = this.slots.length;
    while (table < size * 2) table *= 2;
    this.slots = new Int32Array(table);
    for (let pos = 0; pos < this.count; pos++) this.place(pos);
  }
}
