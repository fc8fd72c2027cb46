/**
 * The PGlite worker thread: the embedded database runs here, so its WASM work (every query, a
 * projection rebuild, a migration) never blocks the main thread's event loop. It speaks the
 * PostgreSQL wire protocol over MessagePorts, one port a `pg` connection (see pglite-thread.ts):
 * the main thread uses the same pg driver, pool and Prisma adapter as with a real server.
 *
 * Plain JavaScript, not TypeScript: a worker thread does not inherit the TypeScript loader
 * under every runner (vitest's forks do not), and this file needs none of the project's types.
 *
 * PGlite is one session. Connections take turns message batch by message batch, and a
 * connection inside a transaction or in the middle of an extended-protocol exchange (Parse …
 * Sync) keeps the session until it finishes; the pool on the other side holds one connection,
 * so turns matter only while a lost connection is being replaced.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";

/** @typedef {{ port: import("node:worker_threads").MessagePort, buffer: Buffer, closed: boolean }} Connection */
/** @typedef {{ connection: Connection | undefined, bytes: Uint8Array, lastType: number }} Batch */

const QUERY = 0x51; // 'Q': simple query, ends its own exchange
const SYNC = 0x53; // 'S': ends an extended-protocol exchange
const TERMINATE = 0x58; // 'X': the client leaves; never handed to PGlite (its session is the database's)
const STARTUP = 0; // untyped startup packet (PGlite answers it itself)
const SSL_REQUEST_CODE = 80877103;
const CANCEL_REQUEST_CODE = 80877102;

const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);
/** The data folder (or `memory://`) and PGlite's compiled modules and file bundle (see pglite-thread.ts). */
const options = workerData;

/** @type {PGlite} */
let db;
try {
  db = await PGlite.create(options);
} catch (error) {
  port.postMessage({ type: "failed", message: /** @type {Error} */ (error).message });
  port.close();
  throw error;
}

/** @type {Batch[]} */
const queue = [];
/** The connection that holds the session (open transaction or unfinished exchange). */
/** @type {Connection | undefined} */
let owner;
let draining = false;
/** @type {Promise<void> | undefined} */
let closing;

port.on("message", (message) => {
  if (message.type === "connect") attach(message.port);
  else if (message.type === "close") {
    closing ??= close();
  }
});
port.postMessage({ type: "ready" });

/** @param {import("node:worker_threads").MessagePort} channel */
function attach(channel) {
  /** @type {Connection} */
  const connection = { port: channel, buffer: Buffer.alloc(0), closed: false };
  channel.on("message", (/** @type {Uint8Array} */ data) => {
    if (closing) return;
    connection.buffer = connection.buffer.length === 0 ? Buffer.from(data) : Buffer.concat([connection.buffer, data]);
    split(connection);
    void drain();
  });
  channel.on("close", () => {
    connection.closed = true;
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]?.connection === connection) queue.splice(i, 1);
    if (owner === connection) {
      owner = undefined;
      // A connection lost inside a transaction must not leave it open for the next one.
      if (db.isInTransaction())
        queue.unshift({ connection: undefined, bytes: simpleQuery("ROLLBACK"), lastType: QUERY });
    }
    void drain();
  });
}

/** Moves the complete messages at the head of a connection's buffer into the queue. */
function split(/** @type {Connection} */ connection) {
  let buffer = connection.buffer;
  let typedEnd = 0;
  let lastType = 0;
  const flushTyped = () => {
    if (typedEnd === 0) return;
    queue.push({ connection, bytes: buffer.subarray(0, typedEnd), lastType });
    buffer = buffer.subarray(typedEnd);
    typedEnd = 0;
  };
  for (;;) {
    if (buffer.length - typedEnd < 5) break;
    const type = buffer[typedEnd];
    if (type === STARTUP && typedEnd === 0) {
      if (buffer.length < 8) break;
      // Untyped packets (startup, SSL or cancel request) come alone, before anything else.
      const length = buffer.readInt32BE(0);
      if (buffer.length < length) break;
      const code = buffer.readInt32BE(4);
      if (code === SSL_REQUEST_CODE) connection.port.postMessage(Buffer.from("N"));
      else if (code !== CANCEL_REQUEST_CODE) {
        queue.push({ connection, bytes: buffer.subarray(0, length), lastType: STARTUP });
      }
      buffer = buffer.subarray(length);
      continue;
    }
    const length = 1 + buffer.readInt32BE(typedEnd + 1);
    if (buffer.length - typedEnd < length) break;
    if (type === TERMINATE) {
      flushTyped();
      buffer = buffer.subarray(length);
      continue;
    }
    lastType = /** @type {number} */ (type);
    typedEnd += length;
  }
  flushTyped();
  connection.buffer = buffer;
}

/** Runs queued batches one at a time, keeping the session with its owner until it lets go. */
async function drain() {
  if (draining) return;
  draining = true;
  try {
    for (;;) {
      const index = owner ? queue.findIndex((batch) => batch.connection === owner) : 0;
      if (index < 0 || queue.length === 0) break;
      const [batch] = /** @type {Batch[]} */ (queue.splice(index, 1));
      const connection = batch.connection;
      if (connection?.closed) continue;
      let reply;
      try {
        reply = await db.execProtocolRaw(batch.bytes);
      } catch (error) {
        // Not a SQL error (those are answered in the protocol): the session is broken for
        // this connection. Closing its port fails its queries on the other side.
        port.postMessage({ type: "error", message: /** @type {Error} */ (error).message });
        if (connection) {
          connection.closed = true;
          connection.port.close();
        }
        continue;
      }
      if (!connection) continue;
      const holds = batch.lastType !== QUERY && batch.lastType !== SYNC && batch.lastType !== STARTUP;
      owner = holds || db.isInTransaction() ? connection : undefined;
      // Hand the reply's memory over; PGlite's startup reply is a view into its receive buffer,
      // which must stay, so that one is copied first (a posted view would clone the whole buffer).
      if (reply.length > 0) {
        const own = reply.byteLength === reply.buffer.byteLength ? reply : reply.slice();
        connection.port.postMessage(own, [own.buffer]);
      }
    }
  } finally {
    draining = false;
  }
}

/** A simple-query message ('Q', length, text, NUL). */
function simpleQuery(/** @type {string} */ text) {
  const body = Buffer.from(`${text}\0`);
  const message = Buffer.alloc(5 + body.length);
  message[0] = QUERY;
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/** Finishes what is queued, closes PGlite (its files are complete on disk), tells the main thread. */
async function close() {
  while (draining || queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  try {
    await db.close();
    port.postMessage({ type: "closed" });
  } catch (error) {
    port.postMessage({ type: "closed", message: /** @type {Error} */ (error).message });
  }
}
