/**
 * Live subscriptions by operation (the subscription's root field) and transport, for the
 * `stageline_live_subscriptions` gauge (issue 16). The GraphQL side counts (an envelop plugin,
 * src/graphql/plugins/live-subscriptions.ts) and the operations side reads; both hold the node
 * HTTP server, so the one counter per server is found through it rather than threaded through
 * the composition root.
 */
import type { Server } from "node:http";

export type SubscriptionTransport = "ws" | "sse";

export class LiveSubscriptions {
  /** `operation transport` → subscriptions running now; a key leaves the map at zero. */
  private readonly live = new Map<string, { operation: string; transport: SubscriptionTransport; count: number }>();
  /** Every operation seen since start: its gauge reads 0 rather than vanishing when the last one ends. */
  private readonly seen = new Set<string>();

  /** A subscription started; call the returned function (idempotent) when it ends, however it ends. */
  opened(operation: string, transport: SubscriptionTransport): () => void {
    const key = `${operation} ${transport}`;
    this.seen.add(key);
    const entry = this.live.get(key) ?? { operation, transport, count: 0 };
    entry.count++;
    this.live.set(key, entry);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.count--;
      if (entry.count === 0) this.live.delete(key);
    };
  }

  /** The count of every operation seen, zeros included. */
  snapshot(): { operation: string; transport: SubscriptionTransport; count: number }[] {
    return [...this.seen].map((key) => {
      const [operation, transport] = key.split(" ") as [string, SubscriptionTransport];
      return { operation, transport, count: this.live.get(key)?.count ?? 0 };
    });
  }
}

const perServer = new WeakMap<Server, LiveSubscriptions>();

/** The counter of this HTTP server's subscriptions (made on first ask). */
export function liveSubscriptionsOf(server: Server): LiveSubscriptions {
  let live = perServer.get(server);
  if (!live) {
    live = new LiveSubscriptions();
    perServer.set(server, live);
  }
  return live;
}
