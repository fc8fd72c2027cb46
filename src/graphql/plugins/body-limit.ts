/**
 * The request body's size limit, enforced on the Node request before Yoga reads a byte (a Yoga
 * plugin would see the body only once it was read), and the one-error answers given at that level.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { GraphQLCode } from "../errors.ts";

/**
 * Enforces the body size limit before Yoga reads anything. A declared Content-Length over the
 * limit is refused at once (Node guarantees the body is no longer than it says). A body without
 * one (chunked) is read here, counting bytes as they arrive, and refused the moment it passes
 * the limit; a body within it is handed to Yoga already read (`req.body`, which Yoga's node
 * adapter takes instead of the stream). Returns false when the request was answered here.
 */
export async function admitBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<boolean> {
  if (req.method !== "POST") return true;
  const length = req.headers["content-length"];
  if (length !== undefined) {
    if (Number(length) <= maxBytes) return true;
    refuseTooLarge(req, res, `The request body is ${length} bytes; the limit is ${maxBytes}`);
    return false;
  }
  if (!req.headers["transfer-encoding"]) return true;
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) {
      refuseTooLarge(req, res, `The request body is over the limit of ${maxBytes} bytes`);
      return false;
    }
    chunks.push(chunk);
  }
  (req as IncomingMessage & { body?: Buffer }).body = Buffer.concat(chunks);
  return true;
}

function refuseTooLarge(req: IncomingMessage, res: ServerResponse, message: string): void {
  reply(res, 413, GraphQLCode.PAYLOAD_TOO_LARGE, message);
  // Drain (and drop) what the client is still sending, so that it gets to read the answer.
  req.resume();
}

/** Answers with one GraphQL-shaped error and closes the connection. */
export function reply(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { "content-type": "application/json", connection: "close", ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}
