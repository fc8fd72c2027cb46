/**
 * The fan-out's graphql-ws operations and how their failures are told apart, so that a run
 * counts each by its `extensions.code` wherever graphql-ws puts the errors: in a `next` payload
 * (a resolver's error), or handed to the sink's `error` as an array (an `error` message: the
 * operation refused before it ran, or its stream threw, e.g. UNAVAILABLE when the database went
 * away while the command was processed). Failures with no server code are named for their
 * client-side cause (`closed <code>`, `no PROCESSED`); only the rest count as `other`.
 */
import type { Client } from "graphql-ws";

export const WATCH = `subscription Watch($id: ID!) { commandResults(commandId: $id) { stage scope signalTime succeeded errorCode errorMsg } }`;

export interface Signal {
  stage: string;
  scope: string;
  signalTime: string;
  succeeded: boolean;
  errorCode: string | null;
  errorMsg: string | null;
}

export type Failure = Error & { code?: unknown; retryAfterMs?: unknown };

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}

/** GraphQL errors as one Error with the first one's code and retry hint. */
export function fromGraphQLErrors(errors: readonly FormattedError[]): Failure {
  const error = new Error(errors.map((e) => e.message).join("; "));
  const extensions = errors[0]?.extensions;
  return Object.assign(error, { code: extensions?.code, retryAfterMs: extensions?.retryAfterMs, errors });
}

/**
 * What graphql-ws hands a sink's `error`: the operation's GraphQL errors (an `error` message:
 * refused before it ran, or its stream threw), a CloseEvent (the socket closed under it; named
 * `closed <code>` here, a client-side cause and no server code), or an Error of the client.
 */
export function failureOf(e: unknown): Failure {
  if (Array.isArray(e)) return fromGraphQLErrors(e as FormattedError[]);
  if (e instanceof Error) return e;
  const close = e as { code?: unknown; reason?: unknown } | null;
  if (typeof close?.code === "number") {
    return Object.assign(new Error(`socket closed ${close.code}: ${String(close.reason ?? "")}`), {
      code: `closed ${close.code}`,
    });
  }
  return new Error(JSON.stringify(e));
}

export function first<T>(client: Client, query: string, variables: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    let value: T | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (r) => {
          if (r.errors?.length) reject(fromGraphQLErrors(r.errors));
          else value = r.data as T;
        },
        error: (e) => reject(failureOf(e)),
        complete: () => (value === undefined ? reject(new Error("no data")) : resolve(value)),
      },
    );
  });
}

/** The full text of an error, for `uncoded`: its message and whatever it carries. */
export function fullText(error: unknown): string {
  if (!(error instanceof Error)) return JSON.stringify(error);
  const { message, name, ...rest } = error as Error & Record<string, unknown>;
  const extra = JSON.stringify(rest);
  return `${name}: ${message}${extra === "{}" ? "" : ` ${extra}`}${error.stack ? `\n${error.stack}` : ""}`;
}

/**
 * Follows a command's results to the end of the stream. A failed result (WAIT_TIMEOUT,
 * COMMAND_FAILED, …) is an answer, not an error, but the run counts it, by its code.
 */
export async function watchResults(
  client: Client,
  commandId: string,
): Promise<{ received: { signal: Signal; at: number }[]; processed: Signal }> {
  const received: { signal: Signal; at: number }[] = [];
  await new Promise<void>((resolve, reject) => {
    client.subscribe<{ commandResults: Signal }>(
      { query: WATCH, variables: { id: commandId } },
      {
        next: (r) => {
          if (r.errors?.length) reject(fromGraphQLErrors(r.errors));
          else if (r.data) received.push({ signal: r.data.commandResults, at: Date.now() });
        },
        error: (e) => reject(failureOf(e)),
        complete: resolve,
      },
    );
  });
  const failed = received.find((r) => !r.signal.succeeded);
  if (failed) {
    const { stage, scope, errorCode, errorMsg } = failed.signal;
    throw Object.assign(new Error(`${stage}/${scope} failed: ${errorCode}: ${errorMsg}`), { code: errorCode });
  }
  const processed = received.find((r) => r.signal.stage === "PROCESSED" && r.signal.scope === "STAGE")?.signal;
  if (!processed) {
    const reached = received.map((r) => `${r.signal.stage}/${r.signal.scope}`).join(", ");
    throw Object.assign(new Error(`the stream ended without PROCESSED (reached: ${reached || "nothing"})`), {
      code: "no PROCESSED",
    });
  }
  return { received, processed };
}
