/**
 * Stage signals over Redis pub/sub (`CROSS_PROCESS_SIGNALS=redis`, `REDIS_URL`), for fan-out
 * wider than one PostgreSQL's LISTEN connections carry comfortably, and without the
 * cluster-wide lock a NOTIFY takes at commit. Two ioredis connections (a subscribing connection
 * can do nothing else): it subscribes through @graphql-yoga/redis-event-target (the event target
 * Yoga's own pub/sub takes) and publishes on ioredis directly, so that a failed publish is seen. Pub/sub keeps nothing
 * for a disconnected subscriber: after a reconnect the owner re-reads what it watches, as with
 * LISTEN/NOTIFY; the tables stay the truth.
 */
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import { SIGNAL_CHANNEL } from "./pg-signals.ts";
import type { SignalTransport } from "./signal-transport.ts";

/** Payloads already are JSON strings: pass them through as they are. */
const asIs = { stringify: (message: unknown) => message as string, parse: (message: string) => message };

export class RedisSignalTransport implements SignalTransport {
  readonly maxPayloadBytes = 64_000;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly target;
  private listener: ((event: CustomEvent) => void) | undefined;
  private ready = false;
  private attempt = 0;

  constructor(
    url: string,
    private readonly channel = SIGNAL_CHANNEL,
  ) {
    const options = {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      retryStrategy: (times: number) => Math.min(100 * 2 ** times, 5_000),
    };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.target = createRedisEventTarget<CustomEvent>({
      publishClient: this.publisher,
      subscribeClient: this.subscriber,
      serializer: asIs,
    });
  }

  async start(handlers: Parameters<SignalTransport["start"]>[0]): Promise<void> {
    this.publisher.on("error", () => undefined);
    this.subscriber.on("error", (error) => {
      if (this.ready) handlers.onError(error, ++this.attempt);
    });
    this.subscriber.on("close", () => {
      this.ready = false;
    });
    // Unreachable at start: said once, and ioredis goes on retrying (as the LISTEN connection does).
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]).catch((error: unknown) =>
      handlers.onError(error, ++this.attempt),
    );
    this.listener = (event) => handlers.onMessage(event.detail as string);
    this.target.addEventListener(this.channel, this.listener);
    // ioredis subscribes again by itself after a reconnect; the owner re-reads what it missed.
    this.subscriber.on("ready", () => {
      if (!this.ready) handlers.onReconnect();
      this.ready = true;
      this.attempt = 0;
    });
    this.ready = true;
  }

  async publish(payload: string): Promise<void> {
    await this.publisher.publish(this.channel, payload);
  }

  drop(): void {
    this.subscriber.disconnect(true);
  }

  async close(): Promise<void> {
    if (this.listener) this.target.removeEventListener(this.channel, this.listener);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
