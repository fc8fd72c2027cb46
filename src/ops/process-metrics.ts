/**
 * Counters observed where no App is at hand (the gateway's send hook): one registry per
 * process, served with every App's /metrics. A process normally runs one App; in tests and the
 * bench, several apps in one process share these counts.
 */
import client from "prom-client";

export const processCounters = new client.Registry();

export const idempotencyHits = new client.Counter({
  name: "stageline_idempotency_hits_total",
  help: "Sends answered from an earlier command with the same request ID (nothing processed again), by command type; per process",
  labelNames: ["command_type"],
  registers: [processCounters],
});
