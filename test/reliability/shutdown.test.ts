/**
 * SIGTERM under load: the server stops accepting, finishes the commands in flight, lets the
 * runners catch up and checkpoint, closes subscriptions with 1001 and exits 0 in time.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { LOG_START } from "../../src/core/messages.ts";
import { openDatabase } from "../../src/store/database.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { EventLog } from "../../src/store/event-log.ts";
import { createPostgresDatabase, engines } from "../support/databases.ts";
import { freePort } from "../support/embedded-postgres.ts";
import { startServerProcess } from "../support/server-process.ts";

const SHUTDOWN_BOUND_MS = 10_000;

async function graphql(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: Record<string, { commandId: string; errorCode: string; stage: string }>;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

const CREATE = `mutation($id: ID!) { createAccount(command: { aggregateId: $id }, input: { name: "Ada", initialBalance: 100 }) { commandId errorCode } }`;
const DEPOSIT = `mutation($id: ID!, $n: Int!) { deposit(command: { aggregateId: $id, waitFor: { stage: PROCESSED } }, input: { amount: $n }) { commandId errorCode stage } }`;

describe.each(engines)("graceful shutdown on %s", (engine) => {
  let databaseUrl: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    if (engine === "postgres") {
      const created = await createPostgresDatabase();
      databaseUrl = created.url;
      cleanup = created.drop;
    } else {
      const folder = await mkdtemp(join(tmpdir(), "stageline-shutdown-"));
      databaseUrl = `pglite://${folder}`;
      cleanup = () => rm(folder, { recursive: true, force: true });
    }
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it("SIGTERM: in-flight commands finish, runners checkpoint at the head, sockets close with 1001, exit 0", async () => {
    const server = await startServerProcess({ DATABASE_URL: databaseUrl, PORT: String(await freePort()) });
    try {
      const created = await graphql(server.url, CREATE, { id: "acc" });
      expect(created.data?.createAccount?.errorCode).toBe("Ok");

      // An open graphql-ws connection (acknowledged, not lazy): SIGTERM must close it with 1001.
      let connected!: () => void;
      const ready = new Promise<void>((resolve) => {
        connected = resolve;
      });
      const closed = new Promise<number>((resolve) => {
        createClient({
          url: server.url.replace(/^http/, "ws"),
          webSocketImpl: WebSocket,
          lazy: false,
          retryAttempts: 0,
          onNonLazyError: () => {},
          on: { connected, closed: (event) => resolve((event as { code: number }).code) },
        });
      });
      await ready;

      // Load, then SIGTERM as soon as the first command is through.
      const deposits = Array.from({ length: 40 }, (_, i) =>
        graphql(server.url, DEPOSIT, { id: "acc", n: i + 1 }).then(
          (body) => ({ ok: true as const, body }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      );
      await Promise.race(deposits);
      const termAt = Date.now();
      server.child.kill("SIGTERM");
      const exit = await Promise.race([
        server.exited,
        new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), SHUTDOWN_BOUND_MS + 5_000)),
      ]);
      expect(exit, server.output()).toEqual({ code: 0, signal: null });
      expect(Date.now() - termAt).toBeLessThan(SHUTDOWN_BOUND_MS + 5_000);
      expect(await closed).toBe(1001);

      // Every answer is a processed command, a refusal (SHUTTING_DOWN) or a refused connection;
      // never a half-done one.
      const answers = await Promise.all(deposits);
      const refused = (body: Awaited<ReturnType<typeof graphql>>) =>
        body.errors?.[0]?.extensions?.code === "SHUTTING_DOWN";
      const processed = answers.flatMap((a) => (a.ok && !refused(a.body) ? [a.body] : []));
      for (const body of processed) expect(body.data?.deposit?.errorCode, JSON.stringify(body)).toBe("Ok");
      expect(processed.length).toBeGreaterThan(0);

      const db = await openDatabase(parseDatabaseUrl(databaseUrl, ""));
      try {
        const pending = await db.sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM commands WHERE status <> 'DONE'",
        );
        expect(pending[0]!.n).toBe(0);
        const events = await db.sql.query<{ command_id: string; amount: number }>(
          "SELECT command_id::text, (body->>'amount')::int AS amount FROM events WHERE type = 'MoneyDeposited'",
        );
        const logged = new Set(events.map((e) => e.command_id));
        for (const body of processed) expect(logged.has(body.data!.deposit!.commandId)).toBe(true);
        // The runners stopped at the head: nothing in the log is past any checkpoint.
        const log = new EventLog(db.sql);
        const checkpoints = await db.sql.query<{ processor_name: string; transaction_id: string; position: string }>(
          "SELECT processor_name, transaction_id::text, position::text FROM processor_checkpoints",
        );
        expect(checkpoints.length).toBeGreaterThan(0);
        for (const c of checkpoints) {
          const rest = await log.readAll({ transactionId: BigInt(c.transaction_id), position: BigInt(c.position) }, 1);
          expect(rest.events.length, `${c.processor_name} is behind\n${server.output()}`).toBe(0);
        }
        expect((await log.readAll(LOG_START, 1000)).events.length).toBe(1 + events.length);
        const view = await db.prisma.accountView.findUnique({ where: { key: "default:acc" } });
        expect(view?.balance).toBe(100 + events.reduce((sum, e) => sum + e.amount, 0));
      } finally {
        await db.close();
      }
    } finally {
      server.child.kill("SIGKILL");
    }
    // A server process on PGlite starts, stops and is opened again here: on a loaded machine
    // that alone can pass vitest's 30 s default.
  }, 120_000);
});
