/**
 * LISTEN/NOTIFY on PostgreSQL: one listening connection per process (outside the pool, which
 * would hand it back and lose the LISTEN), reconnected with backoff when lost, and NOTIFY on the
 * pool. A notification is only a hint that something committed elsewhere; readers re-read the
 * tables, which stay the truth. After a reconnect the owner is told (`onReconnect`) so that it
 * re-reads what it may have missed while the connection was down.
 */
import pg from "pg";
import type { SignalTransport } from "./signal-transport.ts";
import type { SqlExecutor } from "./sql.ts";

export const SIGNAL_CHANNEL = "stageline_signals";

/** PostgreSQL refuses payloads from 8000 bytes; keep each well below. */
export const MAX_PAYLOAD_BYTES = 7_000;

export interface PgListenerOptions {
  url: string;
  onMessage(payload: string): void;
  onReconnect(): void;
  onError(error: unknown, attempt: number): void;
}

export class PgListener {
  private client: pg.Client | undefined;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PgListenerOptions) {}

  /** Connects and listens; resolves once listening (or after the first failure, then retries). */
  async start(): Promise<void> {
    await this.connect(false);
  }

  /** Drops the connection as a network fault would (tests); it reconnects by itself. */
  drop(): void {
    this.client?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(reconnect: boolean): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.options.url });
    client.on("error", () => undefined);
    client.on("notification", (message) => {
      if (message.channel === SIGNAL_CHANNEL && message.payload) this.options.onMessage(message.payload);
    });
    client.on("end", () => {
      if (this.client === client) this.client = undefined;
      this.retry();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SIGNAL_CHANNEL}`);
      this.client = client;
      this.attempt = 0;
      if (reconnect) this.options.onReconnect();
    } catch (error) {
      this.options.onError(error, ++this.attempt);
      await client.end().catch(() => undefined);
      this.retry();
    }
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    const delay = Math.min(100 * 2 ** this.attempt, 5_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect(true);
    }, delay);
    this.timer.unref();
  }
}

/** Sends one notification on the channel (its own small transaction on the pool). */
export async function notify(sql: SqlExecutor, payload: string): Promise<void> {
  await sql.query("SELECT pg_notify($1, $2)", [SIGNAL_CHANNEL, payload], { name: "stageline_notify" });
}

/** LISTEN/NOTIFY as the signal transport: listening on its own connection, notifying on the pool. */
export class PgSignalTransport implements SignalTransport {
  readonly maxPayloadBytes = MAX_PAYLOAD_BYTES;
  private listener: PgListener | undefined;

  constructor(
    private readonly url: string,
    private readonly sql: SqlExecutor,
  ) {}

  async start(handlers: Parameters<SignalTransport["start"]>[0]): Promise<void> {
    this.listener = new PgListener({ url: this.url, ...handlers });
    await this.listener.start();
  }

  publish(payload: string): Promise<void> {
    return notify(this.sql, payload);
  }

  drop(): void {
    this.listener?.drop();
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }
}
