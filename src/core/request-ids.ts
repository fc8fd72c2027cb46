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
