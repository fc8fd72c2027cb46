/**
 * The aggregate cache is bounded: past its size the least recently used entry goes, a read
 * counts as a use, and size 0 keeps nothing. (No storage: the cache never touches a database.)
 */
import { describe, expect, it } from "vitest";
import { AggregateCache } from "../../src/gateway/aggregate-cache.ts";

describe("AggregateCache", () => {
  it("keeps at most its size, evicting the least recently used", () => {
    const cache = new AggregateCache(2);
    cache.set("a", { state: "A", version: 1 });
    cache.set("b", { state: "B", version: 1 });
    expect(cache.get("a")).toEqual({ state: "A", version: 1 });
    cache.set("c", { state: "C", version: 1 });
    expect(cache.size).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.state).toBe("A");
    expect(cache.get("c")?.state).toBe("C");
  });

  it("replaces an entry in place and forgets an evicted one", () => {
    const cache = new AggregateCache(2);
    cache.set("a", { state: "A1", version: 1 });
    cache.set("a", { state: "A2", version: 2 });
    expect(cache.size).toBe(1);
    expect(cache.get("a")).toEqual({ state: "A2", version: 2 });
    cache.evict("a");
    expect(cache.get("a")).toBeUndefined();
  });

  it("size 0 keeps nothing", () => {
    const cache = new AggregateCache(0);
    cache.set("a", { state: "A", version: 1 });
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
