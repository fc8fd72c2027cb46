/**
 * graphql-ws over `ws`, in place of graphql-ws's own `useServer`, for three defences it cannot
 * give (issue 13):
 * - a frame over the size limit (or any socket error) is one structured log line; `useServer`
 *   printed a stack through console.error for each, so any client could fill the log;
 * - a bound on what is buffered for a reader: past WS_MAX_BUFFERED_BYTES the operation that
 *   sends pauses until the reader catches up; a reader that has not within WS_SLOW_READER_MS is
 *   closed with 4008 SLOW_READER (then cut off, since its close frame waits behind the buffer);
 * - sockets per address (refused at the upgrade, HTTP 429) and per credential (closed at
 *   connection_init with 4029 TOO_MANY_SOCKETS), counted here from open to close.
 * The protocol itself stays graphql-ws's (`makeServer`); keep-alive pings as in `useServer`.
 * Every line a socket's work logs names it (issue 16): the socket gets a request ID at the
 * upgrade (the client's `x-request-id` or a new one, echoed in the 101 answer), and each
 * operation `<socket's>/<operation id>`, so one subscription's lines can be told from another's.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from "graphql-ws";
import type { WebSocket, WebSocketServer } from "ws";
import { type Logger, withLogContext } from "../../logger.ts";

export const WS_SLOW_READER = 4008;
export const WS_TOO_MANY_SOCKETS = 4029;

export interface WsTransportLimits {
  maxBufferedBytes: number;
  slowReaderMs: number;
  maxSocketsPerAddress: number;
  maxSocketsPerCredential: number;
}

export type WsExtra = { request: IncomingMessage; socket: WebSocket };

/** Open sockets per key (an address, a credential); a key leaves the map at zero. */
export class SocketCounts {
  private readonly counts = new Map<string, number>();
  count = (key: string): number => this.counts.get(key) ?? 0;
  add(key: string): () => void {
    this.counts.set(key, this.count(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(key) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}

export const addressOf = (request: IncomingMessage): string => request.socket.remoteAddress ?? "unknown";

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;
const socketIds = new WeakMap<IncomingMessage, string>();

/** The socket's request ID: the upgrade's `x-request-id` when it is a plain token, else a new one. */
export function socketRequestId(request: IncomingMessage): string {
  let id = socketIds.get(request);
  if (!id) {
    const given = request.headers["x-request-id"];
    id = typeof given === "string" && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    socketIds.set(request, id);
  }
  return id;
}

/** The request ID of one message's work: the operation's when the message names one. */
function messageRequestId(socketId: string, raw: string): string {
  try {
    const id = (JSON.parse(raw) as { id?: unknown }).id;
    return typeof id === "string" && id.length > 0 && id.length <= 100 ? `${socketId}/${id}` : socketId;
  } catch {
    return socketId; // graphql-ws answers the malformed message itself
  }
}

/** `verifyClient` part: refuses an upgrade from an address that holds its maximum of sockets. */
export function underAddressLimit(
  perAddress: SocketCounts,
  limits: WsTransportLimits,
  request: IncomingMessage,
): boolean {
  return perAddress.count(addressOf(request)) < limits.maxSocketsPerAddress;
}

export function serveGraphQLWs<P extends Record<string, unknown> | undefined>(
  options: ServerOptions<P, WsExtra>,
  wss: WebSocketServer,
  deps: { limits: WsTransportLimits; perAddress: SocketCounts; logger: Logger },
  keepAliveMs = 12_000,
): { dispose(): Promise<void> } {
  const { limits, logger } = deps;
  const server = makeServer<P, WsExtra>(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on("error", (err) => logger.error({ err }, "websocket server error"));
  wss.on("headers", (headers, request) => headers.push(`x-request-id: ${socketRequestId(request)}`));
  wss.on("connection", (socket, request) => {
    const reqId = socketRequestId(request);
    const releaseAddress = deps.perAddress.add(addressOf(request));
    socket.on("error", (err: Error & { code?: string }) => {
      // ws has already answered (1009 for a frame too large) and is closing the socket.
      logger.info({ reqId, code: err.code, reason: err.message, address: addressOf(request) }, "websocket error");
    });
    let watchdog: NodeJS.Timeout | undefined;
    const closeSlow = () => {
      if (socket.readyState !== socket.OPEN) return;
      logger.info(
        { reqId, address: addressOf(request), buffered: socket.bufferedAmount },
        "slow websocket reader closed",
      );
      socket.close(WS_SLOW_READER, "SLOW_READER: the client did not read what was sent");
      // Its close frame waits behind the buffer: cut it off if it still does not read.
      setTimeout(() => socket.terminate(), Math.max(limits.slowReaderMs, 5_000)).unref();
    };
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once("pong", () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: async (data) => {
          if (!(await drained(socket, limits))) return closeSlow();
          // Not awaiting the flush: with a reader that stopped, it never comes and the operation
          // would hang unseen. bufferedAmount grows instead, and the checks here see it.
          if (socket.readyState !== socket.OPEN) return;
          socket.send(data);
          // Nothing more may be sent: the reader must still drain below the bound in time.
          if (socket.bufferedAmount > limits.maxBufferedBytes && !watchdog) {
            watchdog = setTimeout(() => {
              watchdog = undefined;
              if (socket.readyState === socket.OPEN && socket.bufferedAmount > limits.maxBufferedBytes) closeSlow();
            }, limits.slowReaderMs);
          }
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", async (raw) => {
            const text = String(raw);
            try {
              // The operation's work (a subscription's whole life included) runs in this context.
              await withLogContext({ reqId: messageRequestId(reqId, text) }, () => handle(text));
            } catch (err) {
              logger.error({ err, reqId }, "websocket message handling failed");
              socket.close(CloseCode.InternalServerError, "Internal server error");
            }
          }),
      },
      { socket, request },
    );
    socket.once("close", (code, reason) => {
      releaseAddress();
      clearTimeout(pongWait);
      clearTimeout(watchdog);
      clearInterval(ping);
      void closed(code, String(reason));
    });
  });
  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/**
 * True once the socket's send buffer is within the bound (at once, usually); false when the
 * reader left it above for slowReaderMs. Waiting here pauses the operation that sends: its
 * subscription is not read meanwhile.
 */
async function drained(socket: WebSocket, limits: WsTransportLimits): Promise<boolean> {
  if (socket.bufferedAmount <= limits.maxBufferedBytes) return true;
  const deadline = Date.now() + limits.slowReaderMs;
  while (Date.now() < deadline) {
    if (socket.readyState !== socket.OPEN) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (socket.bufferedAmount <= limits.maxBufferedBytes) return true;
  }
  return socket.readyState !== socket.OPEN;
}
