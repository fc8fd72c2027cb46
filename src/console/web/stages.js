// What a command's results say about its journey: each stage reached (or failed, or not
// reached), each processor's own signal, and the times between them.
export const STAGES = ["SENT", "PROCESSED", "SNAPSHOT", "PROJECTED", "EVENT_HANDLED", "SAGA_HANDLED"];
export const BRANCHES = STAGES.slice(2);

export const RESULT_FIELDS = `id commandId correlationId stage scope aggregateId aggregateVersion succeeded errorCode errorMsg
  signalTime result function { functionKind contextName processorName }`;

export const COMMAND_FIELDS = `commandId type contextName aggregateName aggregateId requestId status createdAt
  correlationId parentCommandId results { ${RESULT_FIELDS} }`;

/** Per stage: its STAGE result, the processors' signals, and its state (ok, failed, waiting, skipped). */
export function journey(results) {
  const byStage = Object.fromEntries(STAGES.map((s) => [s, { result: undefined, signals: [], state: "waiting" }]));
  for (const r of results) {
    const entry = byStage[r.stage];
    if (!entry) continue;
    if (r.scope === "STAGE") entry.result = r;
    else if (!entry.signals.some((s) => s.id === r.id)) entry.signals.push(r);
  }
  const refused = byStage.PROCESSED.result && !byStage.PROCESSED.result.succeeded;
  for (const stage of STAGES) {
    const entry = byStage[stage];
    if (entry.result) entry.state = entry.result.succeeded ? "ok" : "failed";
    else if (entry.signals.some((s) => !s.succeeded)) entry.state = "failed";
    else if (refused && BRANCHES.includes(stage)) entry.state = "skipped";
  }
  const failure = STAGES.map((s) => byStage[s].result).find((r) => r && !r.succeeded);
  const settled = refused || BRANCHES.every((s) => byStage[s].result);
  return { byStage, failure, settled };
}

export const at = (r) => (r ? new Date(r.signalTime).getTime() : undefined);

export function since(later, earlier) {
  if (later === undefined || earlier === undefined) return "";
  const ms = Math.max(0, later - earlier);
  return ms < 1000 ? `+${ms} ms` : `+${(ms / 1000).toFixed(2)} s`;
}

/** Merges results by ID, oldest first. */
export function mergeResults(known, more) {
  const byId = new Map(known.map((r) => [r.id, r]));
  for (const r of more) byId.set(r.id, r);
  const order = (r) => (/^\d+$/.test(r.id) ? Number(r.id) : Number.MAX_SAFE_INTEGER);
  return [...byId.values()].sort((a, b) => at(a) - at(b) || order(a) - order(b));
}
