/**
 * A bounded, least-recently-used cache of aggregate states and their versions, so a hot
 * aggregate is decided without reading the store. It is only ever a guess: every commit checks
 * the stream's version in its own transaction (the append's check, and the mark's for decisions
 * that append nothing), so a state another process moved on is caught there, evicted and loaded
 * again. Entries are written only after a commit succeeded, by the one task per aggregate the
 * processor's keyed queue lets run.
 */
export interface CachedAggregate {
  state: unknown;
  version: number;
}

export class AggregateCache {
  // A Map iterates in insertion order: re-inserting on each hit keeps the coldest entry first.
  private readonly entries = new Map<string, CachedAggregate>();

  constructor(private readonly maxEntries: number) {}

  get(key: string): CachedAggregate | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: CachedAggregate): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const coldest = this.entries.keys().next().value as string;
      this.entries.delete(coldest);
    }
  }

  evict(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
