/**
 * The receiving side of cross-process signals as a second process has it: its own result bus,
 * result store and signal connection on its own pool, so a wait on it is served only by signals
 * (and its store re-read), never by the sending instance's memory.
 */
import { CrossProcessSignals } from "../../../src/gateway/cross-process-signals.ts";
import { ResultBus } from "../../../src/gateway/result-bus.ts";
import { logger } from "../../../src/logger.ts";
import type { Database } from "../../../src/store/database.ts";
import { EventLog } from "../../../src/store/event-log.ts";
import { ResultStore } from "../../../src/store/result-store.ts";
import type { SignalTransport } from "../../../src/store/signal-transport.ts";

export interface Listener {
  bus: ResultBus;
  results: ResultStore;
  signals: CrossProcessSignals;
}

export async function startListener(
  sql: Database["sql"],
  transport: SignalTransport,
  retentionMs: number,
): Promise<Listener> {
  const bus = new ResultBus();
  const results = new ResultStore(sql, retentionMs);
  const signals = new CrossProcessSignals({ transport, bus, results, events: new EventLog(sql), logger });
  await signals.start();
  return { bus, results, signals };
}
