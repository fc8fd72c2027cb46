// The console's only way into Stageline: the public GraphQL API, over HTTP for queries and
// mutations and graphql-ws for subscriptions, with the caller's credential and tenant.
import { createClient } from "graphql-ws";

const STORAGE_KEY = "stageline.console.session";

/** The credential (a JWT or an API key, sent as a Bearer token) and the tenant, kept for this tab only. */
export function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "{}");
  } catch {
    return {};
  }
}

export function saveSession(session) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  resetSocket();
}

export class ApiError extends Error {
  constructor(code, message, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }
}

export async function gql(query, variables = {}) {
  const { token, tenant } = loadSession();
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (tenant) headers["x-tenant-id"] = tenant;
  const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`HTTP_${response.status}`, response.statusText || "The server answered without JSON");
  }
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.extensions?.code ?? "ERROR", error.message, error.extensions);
  return body.data;
}

let socket;
let connected = false;
const connectedListeners = new Set();

function client() {
  socket ??= createClient({
    url: `${location.origin.replace(/^http/, "ws")}/graphql`,
    lazy: true,
    retryAttempts: 10,
    connectionParams: () => {
      const { token, tenant } = loadSession();
      return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(tenant ? { tenantId: tenant } : {}) };
    },
    on: {
      connected: () => {
        connected = true;
        for (const listener of connectedListeners) listener();
      },
      closed: () => {
        connected = false;
      },
    },
  });
  return socket;
}

function resetSocket() {
  socket?.dispose();
  socket = undefined;
  connected = false;
}

/**
 * Calls `listener` each time the subscriptions' socket (re)connects, and at once when it is
 * connected already: what a live view streamed may have missed while it was away is re-read then.
 * Returns the function that stops it.
 */
export function onConnected(listener) {
  connectedListeners.add(listener);
  if (connected) queueMicrotask(listener);
  return () => connectedListeners.delete(listener);
}

/** Subscribes; returns the function that ends the subscription. */
export function subscribe(query, variables, { next, error, complete }) {
  return client().subscribe(
    { query, variables },
    {
      next: (result) => {
        const e = result.errors?.[0];
        if (e) error?.(new ApiError(e.extensions?.code ?? "ERROR", e.message, e.extensions));
        else next(result.data);
      },
      error: (e) =>
        error?.(
          e instanceof Error ? e : new ApiError(e?.code ? `CLOSE_${e.code}` : "SOCKET", e?.reason || "Connection lost"),
        ),
      complete: () => complete?.(),
    },
  );
}
