/**
 * Tracing with an in-memory exporter, on both engines: one command's spans — its send (a child
 * of the client's traceparent), every processor that handles its events, the saga's command and
 * that command's own processors — share one trace ID with the right parents; the context is
 * stored with the command and its events, so a server started after the command was stored
 * (a restart) processes it in a span that joins the same trace, and says so in its log.
 */
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { startTracing, type Tracing } from "../../src/ops/tracing.ts";
import { accountCommand, FAST_RUNNER, startTestApp, type TestApp } from "../support/app.ts";
import { engines, openTestDatabase } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

const waitLong = { timeoutMs: 20_000 };

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
beforeAll(() => {
  tracing = startTracing({ exporter, immediate: true });
});
afterAll(async () => {
  await tracing.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const ofCommand = (commandId: string, name: string) =>
  spans().find((s) => s.name === name && s.attributes["stageline.command_id"] === commandId);
const traceOf = (span: ReadableSpan) => span.spanContext().traceId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

async function spanOf(commandId: string, name: string): Promise<ReadableSpan> {
  await waitUntil(`span "${name}" of command ${commandId}`, () => ofCommand(commandId, name) !== undefined, {
    ...waitLong,
    progress: () =>
      spans()
        .map((s) => s.name)
        .join(", "),
  });
  return ofCommand(commandId, name)!;
}

// A client's own trace: the command's spans continue it.
const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

describe.each(engines)("tracing on %s", (engine) => {
  describe("one server", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(engine, { runner: FAST_RUNNER });
      for (const id of ["tr-alice", "tr-bob"]) {
        await t.app.gateway.sendAndWait(accountCommand("CreateAccount", id, { name: id, initialBalance: 50 }), {
          stage: "PROJECTED",
        });
      }
    });
    afterAll(async () => {
      await t?.stop();
    });

    // Catches: no traceparent stored on the events (runner spans start new traces), the saga's
    // commands not parented by its span, the client's traceparent ignored (each seen to fail).
    it("links a command's send, its processors, the saga's command and that command's processors in one trace", async () => {
      exporter.reset();
      const { status, json } = await t.post(
        {
          query: `mutation {
            prepareTransfer(input: { transferId: "tr-1", targetAccountId: "tr-bob", amount: 5 },
                            command: { aggregateId: "tr-alice", waitFor: { stage: PROCESSED } }) { commandId succeeded }
          }`,
        },
        { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
      );
      expect(status).toBe(200);
      const sent = json.data?.prepareTransfer as { commandId: string; succeeded: boolean };
      expect(sent.succeeded).toBe(true);

      const send = await spanOf(sent.commandId, "command Account.PrepareTransfer");
      expect(traceOf(send)).toBe(CLIENT_TRACE);
      expect(parentOf(send)).toBe(CLIENT_SPAN);
      expect(send.attributes["stageline.tenant_id"]).toBe("default");

      // The context is stored on the command's events, for runners anywhere and later.
      const [event] = await t.db.sql.query<{ traceparent: string | null }>(
        "SELECT traceparent FROM events WHERE command_id = $1",
        [sent.commandId],
      );
      expect(event?.traceparent).toBe(`00-${CLIENT_TRACE}-${send.spanContext().spanId}-01`);

      const view = await spanOf(sent.commandId, "projection banking.AccountView");
      const saga = await spanOf(sent.commandId, "saga banking.TransferSaga");
      for (const processor of [view, saga]) {
        expect(traceOf(processor)).toBe(CLIENT_TRACE);
        expect(parentOf(processor)).toBe(send.spanContext().spanId);
      }

      // The saga's command is sent from inside the saga's span, and its own processors follow.
      await waitUntil(
        "the saga's ReceiveTransfer span",
        () => spans().some((s) => s.name === "command Account.ReceiveTransfer"),
        waitLong,
      );
      const receive = spans().find((s) => s.name === "command Account.ReceiveTransfer")!;
      expect(traceOf(receive)).toBe(CLIENT_TRACE);
      expect(parentOf(receive)).toBe(saga.spanContext().spanId);
      const receiveId = receive.attributes["stageline.command_id"] as string;
      const receiveView = await spanOf(receiveId, "projection banking.AccountView");
      expect(traceOf(receiveView)).toBe(CLIENT_TRACE);
      expect(parentOf(receiveView)).toBe(receive.spanContext().spanId);
    });
  });

  // Catches: the worker's span not joined to the stored context, the recovery line missing.
  it("joins the trace after a restart: a server started later processes the stored command in the command's trace", async () => {
    const db = await openTestDatabase(engine);
    const config = { ...loadConfig({ NODE_ENV: "test" }), port: 0, host: "127.0.0.1", runner: FAST_RUNNER };
    try {
      const before = await createApp({ config, database: db });
      await before.server.listen(0, "127.0.0.1");
      const created = await before.gateway.send(
        { ...accountCommand("CreateAccount", "tr-restart", { name: "R", initialBalance: 1 }), async: true },
        { stage: "SENT" },
      );
      await before.stop();
      const send = await spanOf(created.commandId, "command Account.CreateAccount");

      const lines: Record<string, unknown>[] = [];
      const logger = createLogger({
        level: "info",
        destination: { write: (line: string) => lines.push(JSON.parse(line)) },
      });
      const after = await createApp({ config, database: db, logger });
      await after.start();
      try {
        const processed = await spanOf(created.commandId, "process Account.CreateAccount");
        expect(traceOf(processed)).toBe(traceOf(send));
        expect(parentOf(processed)).toBe(send.spanContext().spanId);
        expect(processed.attributes["stageline.recovered"]).toBe(true);
        const view = await spanOf(created.commandId, "projection banking.AccountView");
        expect(traceOf(view)).toBe(traceOf(send));
        expect(parentOf(view)).toBe(send.spanContext().spanId);

        const recovery = lines.find((l) => l.msg === "taking up commands stored before this start (recovery)");
        expect(recovery).toMatchObject({ level: 30, storedBeforeStart: 1, commandIds: [created.commandId] });
      } finally {
        await after.stop();
      }
    } finally {
      await db.close();
    }
  });
});
