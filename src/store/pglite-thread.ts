/**
 * PGlite off the main thread: starts pglite-worker.js in a worker thread and gives a `pg` pool
 * whose connections are MessagePorts to it instead of TCP sockets. Everything above the pool
 * (our raw SQL client with its named statements, Prisma through @prisma/adapter-pg) is then the
 * PostgreSQL code path, and the main thread's event loop stays free while PGlite works.
 *
 * Why not @electric-sql/pglite-socket: it serves the same protocol over TCP, but pins an older
 * PGlite and eight extension packages as peers, and its multiplexer interleaves connections
 * message by message, which is unsafe for named and unnamed prepared statements. One connection
 * (PGlite is one session) over a port needs neither a port number nor a socket file.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Duplex } from "node:stream";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import pg from "pg";
import { quietLostConnections } from "./pg-pool.ts";

export interface PgliteThread {
  /** A pool of one connection: PGlite has one session, more connections would only queue. */
  readonly pool: pg.Pool;
  /** Ends the pool, lets the worker finish what it was sent, close PGlite (files complete on disk) and exit. */
  close(): Promise<void>;
}

/** How long close() waits for the worker to close PGlite before stopping the thread anyway. */
const CLOSE_TIMEOUT_MS = 3_000;

/** PGlite's code and initial files, compiled and read once a process, handed to every worker. */
interface PgliteAssets {
  pgliteWasmModule: WebAssembly.Module;
  initdbWasmModule: WebAssembly.Module;
  fsBundle: Blob;
}
let assets: Promise<PgliteAssets> | undefined;

/**
 * A new thread would otherwise compile PGlite's 9 MB of WebAssembly again (seconds of CPU): a
 * compiled module is shared with every worker of the process instead.
 */
function loadAssets(): Promise<PgliteAssets> {
  assets ??= (async () => {
    const dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
    const [pglite, initdb, bundle] = await Promise.all(
      ["pglite.wasm", "initdb.wasm", "pglite.data"].map((file) => readFile(join(dir, file))),
    );
    return {
      pgliteWasmModule: await WebAssembly.compile(pglite!),
      initdbWasmModule: await WebAssembly.compile(initdb!),
      fsBundle: new Blob([bundle!]),
    };
  })();
  assets.catch(() => {
    assets = undefined;
  });
  return assets;
}

/**
 * Starts PGlite on `dataDir` (a folder or `memory://`) in a worker; rejects with PGlite's reason
 * if it cannot open. `loadDataDir` (a `dumpDataDir` tarball) fills an empty `dataDir` from a copy
 * instead of running initdb, which costs seconds: the tests start every database from one copy.
 */
export async function startPgliteThread(dataDir: string, loadDataDir?: Blob): Promise<PgliteThread> {
  const options = { dataDir, ...(loadDataDir ? { loadDataDir } : {}), ...(await loadAssets()) };
  // No inherited loaders (tsx's stop the thread at once): the worker is plain JavaScript.
  const worker = new Worker(new URL("./pglite-worker.js", import.meta.url), { workerData: options, execArgv: [] });
  let failure: Error | undefined;
  const streams = new Set<PortStream>();
  const waiters = new Set<(message: WorkerMessage | Error) => void>();
  const fail = (error: Error) => {
    failure ??= error;
    for (const stream of streams) stream.destroy(error);
    for (const waiter of waiters) waiter(error);
  };
  // One listener each for the thread's whole life (removing Node's own would break its ref counting).
  worker.on("message", (message: WorkerMessage) => {
    for (const waiter of waiters) waiter(message);
  });
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`the PGlite worker stopped (exit code ${code})`)));
  /** The worker's next message of one of these types; an error if the thread fails first. */
  const next = (...types: WorkerMessage["type"][]) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      if (failure) return reject(failure);
      const waiter = (message: WorkerMessage | Error) => {
        if (message instanceof Error) reject(message);
        else if (types.includes(message.type)) resolve(message);
        else return;
        waiters.delete(waiter);
      };
      waiters.add(waiter);
    });

  const started = await next("ready", "failed").catch((error: Error) => ({ type: "failed", message: error.message }));
  if (started.type === "failed") {
    await worker.terminate();
    throw new Error(started.message);
  }
  // The pool's open connections keep the process alive, as sockets would; the idle thread does not.
  worker.unref();

  const pool = new pg.Pool({
    // PGlite's only role and database (pg would otherwise take the OS user's name for both).
    user: "postgres",
    database: "postgres",
    max: 1,
    // One connection shared by everything: a long transaction (a rebuild) makes others wait
    // for it, as PGlite's own lock did; waiting is not a failure here.
    connectionTimeoutMillis: 0,
    idleTimeoutMillis: 0,
    stream: () => {
      if (failure) throw failure;
      const { port1, port2 } = new MessageChannel();
      worker.postMessage({ type: "connect", port: port2 }, [port2]);
      const stream = new PortStream(port1);
      streams.add(stream);
      stream.once("close", () => streams.delete(stream));
      return stream;
    },
  });
  quietLostConnections(pool);

  const close = async () => {
    await pool.end().catch(() => {});
    if (failure) return;
    worker.ref();
    const closed = next("closed");
    const timer = setTimeout(
      () => fail(new Error(`PGlite did not close within ${CLOSE_TIMEOUT_MS} ms`)),
      CLOSE_TIMEOUT_MS,
    );
    worker.postMessage({ type: "close" });
    try {
      const { message } = await closed;
      if (message) throw new Error(message);
    } catch (error) {
      throw new Error(`Closing PGlite: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
      failure ??= new Error("PGlite is closed");
      await worker.terminate();
    }
  };
  let closing: Promise<void> | undefined;
  return {
    pool,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

/** What the worker says on its control channel (pglite-worker.js). */
interface WorkerMessage {
  type: "ready" | "failed" | "closed" | "error";
  message?: string;
}

/**
 * The socket-shaped stream `pg` reads and writes: bytes to and from a MessagePort. Writes made
 * in one turn of the event loop (Parse, Bind, Execute, Sync of one query) go as one message.
 */
class PortStream extends Duplex {
  readonly #port: MessagePort;
  #pending: Buffer[] = [];

  constructor(port: MessagePort) {
    super();
    this.#port = port;
    port.on("message", (data: Uint8Array) => {
      this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
    port.once("close", () => {
      this.push(null);
      this.destroy();
    });
  }

  /** pg's Connection calls these on a net.Socket; a port connects at once and has no Nagle. */
  connect(): this {
    queueMicrotask(() => this.emit("connect"));
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    this.#port.ref();
    return this;
  }
  unref(): this {
    this.#port.unref();
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
    this.#pending.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush();
    this.#port.close();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#pending = [];
    this.#port.close();
    callback(error);
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    // An exact copy, handed over: posting a Buffer would clone the whole slab it was cut from.
    const bytes = new Uint8Array(this.#pending.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of this.#pending) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    this.#pending = [];
    this.#port.postMessage(bytes, [bytes.buffer]);
  }
}
