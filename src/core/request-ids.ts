/**
 * Request IDs (idempotency keys) the system makes for itself live in a namespace no client can
 * reach. A saga's request IDs are deterministic — derived from (saga, event position, key), so
 * a replay never sends twice — and therefore guessable: in the clients' namespace, a client
 * that took one first would make the saga's command fail with IDEMPOTENCY_KEY_REUSED (the
 * transfer's money locked for good). They start with a reserved prefix, and the gateway
 * refuses a client's requestId of that form with VALIDATION_FAILED.
 */

/** The reserved prefix: only in-process callers (sagas) produce request IDs that start with it. */
export const INTERNAL_REQUEST_PREFIX = "internal:";

export const isInternalRequestId = (requestId: string): boolean => requestId.startsWith(INTERNAL_REQUEST_PREFIX);

/**
 * The request ID of a saga's command: one per (saga, event, key), the same at every replay.
 * `sagaId` is `<context>.<saga>`; `key` names the command within the reaction.
 */
export const sagaRequestId = (sagaId: string, position: bigint, key: string): string =>
  `${INTERNAL_REQUEST_PREFIX}saga:${sagaId}:${position}:${key}`;

/** What caused a saga's command: the event it reacted to, by its log position. */
export const sagaCausationId = (position: bigint): string => `event:${position}`;

const SAGA_REQUEST_ID = /^(internal:saga:[^:]*:)(0|[1-9][0-9]{0,18})(:[\s\S]*)$/;
const SAGA_CAUSATION_ID = /^event:(0|[1-9][0-9]{0,18})$/;

/**
 * A request ID as a tenant sees it: the log position inside a saga's (global, issue 13)
 * replaced by `show(position)`; a client's key unchanged.
 */
export function requestIdShown(requestId: string, show: (position: bigint) => string): string {
  const saga = SAGA_REQUEST_ID.exec(requestId);
  return saga ? `${saga[1]}${show(BigInt(saga[2]!))}${saga[3]}` : requestId;
}

/** A causation ID as a tenant sees it: `event:<position>` with `show(position)`; a command ID unchanged. */
export function causationIdShown(causationId: string, show: (position: bigint) => string): string {
  const saga = SAGA_CAUSATION_ID.exec(causationId);
  return saga ? `event:${show(BigInt(saga[1]!))}` : causationId;
}
