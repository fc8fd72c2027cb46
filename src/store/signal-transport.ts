/**
 * How stage signals travel between processes: LISTEN/NOTIFY on the PostgreSQL that holds the
 * data (pg-signals.ts), or Redis pub/sub for wide fan-out (redis-signals.ts). Either way a
 * message is only a hint; readers re-read the tables, which stay the truth.
 */
export interface SignalTransport {
  /** Starts listening; `onReconnect` after a lost connection came back (messages may have been missed). */
  start(handlers: {
    onMessage(payload: string): void;
    onReconnect(): void;
    onError(error: unknown, attempt: number): void;
  }): Promise<void>;
  publish(payload: string): Promise<void>;
  /** Drops the listening connection as a network fault would (tests); it reconnects by itself. */
  drop(): void;
  close(): Promise<void>;
  /** The largest payload to send in one message. */
  readonly maxPayloadBytes: number;
}
