/**
 * Admission control end to end, on both engines, with one place and a queue of one: the first
 * command's storage is held at a gate, so which command is in flight, queued or refused never
 * depends on the machine's speed. A refused command stores nothing and says OVERLOADED (over
 * the gateway, HTTP with 503 and Retry-After, and graphql-ws); the queued one completes once the
 * gate opens; a command after the burst succeeds. Asynchronous commands are admitted too, for
 * their acceptance only: the worker bounds their processing. A command that fails anywhere on
 * its way (its processing, its acceptance, a reused request ID) gives its place back.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { App } from "../../src/app.ts";
import { Overloaded } from "../../src/core/errors.ts";
import { CommandStore } from "../../src/store/command-store.ts";
import { sample, scrape } from "../ops/prometheus-text.ts";
import { countRows, type TestApp, useTestApp, wsClientOf } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const ONE_PLACE = { maxInFlight: 1, maxQueued: 1, maxQueueWaitMs: 120_000 };

/** Holds the next command that waits beyond SENT before it stores anything, until `open()`. */
function gateNextProcessing(app: App) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const original = app.processor.acceptAndProcess.bind(app.processor);
  const spy = vi.spyOn(app.processor, "acceptAndProcess").mockImplementationOnce(async (command) => {
    await gate;
    return original(command);
  });
  return {
    open,
    /** Resolves once the gated command is in flight (holding its place) and held. */
    held: () => vi.waitFor(() => expect(spy).toHaveBeenCalled(), { timeout: 20_000 }),
  };
}

const createAccount = (aggregateId: string, extra: { async?: boolean } = {}) => ({
  aggregateName: "Account",
  type: "CreateAccount",
  tenantId: "t",
  aggregateId,
  input: { name: aggregateId, initialBalance: 10 },
  ...extra,
});

async function commandsOf(testApp: TestApp, aggregateId: string): Promise<number> {
  const rows = await testApp.db.sql.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM commands WHERE aggregate_id = $1",
    [aggregateId],
  );
  return rows[0]!.n;
}

const queued = (app: App, n: number) =>
  vi.waitFor(() => expect(app.admission.use().queued).toBe(n), { timeout: 20_000 });

/** Fills the one place (`<prefix>-first`, held) and the queue of one (`<prefix>-second`). */
async function fillPlaceAndQueue(app: App, prefix: string) {
  const gate = gateNextProcessing(app);
  const first = app.gateway.sendAndWait(createAccount(`${prefix}-first`));
  await gate.held();
  const second = app.gateway.sendAndWait(createAccount(`${prefix}-second`));
  await queued(app, 1);
  return { gate, first, second };
}

/** Not a domain error: what a bug or a broken disk throws. */
const boom = () => new Error("the disk is on fire");

/** Makes the processing of `aggregateId`'s command throw, once; every other command the app processes meanwhile goes through. */
function failProcessingOnce(app: App, aggregateId: string): { readonly thrown: boolean } {
  const original = app.processor.process.bind(app.processor);
  const failed = { thrown: false };
  vi.spyOn(app.processor, "process").mockImplementation((command) => {
    if (command.aggregateId === aggregateId && !failed.thrown) {
      failed.thrown = true;
      return Promise.reject(boom());
    }
    return original(command);
  });
  return failed;
}

/**
 * The place is free again, and it is really usable: with one place and a queue of one, a leaked
 * place would leave this command queued until its two-minute wait ran out.
 */
async function placeGivenBack(app: App, nextId: string): Promise<void> {
  await vi.waitFor(() => expect(app.admission.use().inFlight).toBe(0), { timeout: 20_000 });
  expect(await app.gateway.sendAndWait(createAccount(nextId))).toMatchObject({ succeeded: true, aggregateId: nextId });
  expect(app.admission.use()).toMatchObject({ inFlight: 0, queued: 0 });
}

describe.each(engines)("admission control on %s", (engine) => {
  describe("one place, a queue of one", () => {
    const testApp = useTestApp(engine, { admission: ONE_PLACE });

    it("the third concurrent command is OVERLOADED with nothing stored; the queued one completes once released; the next succeeds", async () => {
      const { app } = testApp;
      const gate = gateNextProcessing(app);
      const first = app.gateway.sendAndWait(createAccount("first"));
      await gate.held();
      const second = app.gateway.sendAndWait(createAccount("second"));
      await queued(app, 1);

      const refused = await app.gateway.sendAndWait(createAccount("third")).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Overloaded);
      expect(refused).toMatchObject({ code: "OVERLOADED", reason: "queue_full" });
      expect((refused as Overloaded).retryAfterMs).toBeGreaterThan(0);
      const metrics = await scrape(testApp.url);
      expect(sample(metrics, "stageline_command_admission", { state: "in_flight" })).toBe(1);
      expect(sample(metrics, "stageline_command_admission", { state: "queued" })).toBe(1);
      expect(sample(metrics, "stageline_command_admission_limit", { limit: "in_flight" })).toBe(1);
      expect(sample(metrics, "stageline_commands_overloaded_total", { reason: "queue_full" })).toBe(1);

      gate.open();
      expect(await first).toMatchObject({ succeeded: true, aggregateId: "first", aggregateVersion: 1 });
      expect(await second).toMatchObject({ succeeded: true, aggregateId: "second", aggregateVersion: 1 });
      expect(await commandsOf(testApp, "first")).toBe(1);
      expect(await commandsOf(testApp, "second")).toBe(1);
      expect(await commandsOf(testApp, "third")).toBe(0);

      // After the burst: a place is free again, and the refused command may simply be sent again.
      expect(await app.gateway.sendAndWait(createAccount("third"))).toMatchObject({ succeeded: true });
      expect(app.admission.use()).toMatchObject({ inFlight: 0, queued: 0, shed: { queue_full: 1, queue_wait: 0 } });
    });

    it("over HTTP an overload-only answer is 503 with Retry-After; over graphql-ws the operation's error; both carry the code and retryAfterMs", async () => {
      const { app } = testApp;
      const { gate, first, second } = await fillPlaceAndQueue(app, "http");
      const eventsBefore = await countRows(testApp, "events");

      const mutation = `mutation { createAccount(input: { name: "x" }, command: { aggregateId: "http-third" }) { commandId } }`;
      const response = await fetch(testApp.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: mutation }),
      });
      expect(response.status).toBe(503);
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const body = (await response.json()) as {
        data: unknown;
        errors: { extensions: Record<string, unknown> }[];
        extensions?: Record<string, unknown>;
      };
      expect(body.data).toBeNull();
      expect(body.errors[0]!.extensions).toMatchObject({ code: "OVERLOADED", reason: "queue_full" });
      expect(body.errors[0]!.extensions.retryAfterMs).toBeGreaterThan(0);
      expect(body.extensions?.http).toBeUndefined();

      const ws = wsClientOf(testApp);
      try {
        const result = await new Promise<{ errors?: { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
          let last: { errors?: { extensions?: Record<string, unknown> }[] } = {};
          ws.subscribe(
            { query: mutation.replace("http-third", "ws-third") },
            { next: (r) => (last = r as typeof last), error: reject, complete: () => resolve(last) },
          );
        });
        expect(result.errors?.[0]?.extensions).toMatchObject({ code: "OVERLOADED", reason: "queue_full" });
        expect(result.errors?.[0]?.extensions?.retryAfterMs).toBeGreaterThan(0);
        expect(result.errors?.[0]?.extensions?.http).toBeUndefined();
      } finally {
        await ws.dispose();
      }

      gate.open();
      await Promise.all([first, second]);
      expect(await commandsOf(testApp, "http-third")).toBe(0);
      expect(await commandsOf(testApp, "ws-third")).toBe(0);
      // Only the two admitted commands appended (one event each).
      expect(await countRows(testApp, "events")).toBe(eventsBefore + 2);
    });

    it("an asynchronous command is admitted for its acceptance: queued behind the place, refused past the queue, stored and processed once admitted", async () => {
      const { app } = testApp;
      const gate = gateNextProcessing(app);
      const first = app.gateway.sendAndWait(createAccount("async-first"));
      await gate.held();
      const queuedAsync = app.gateway.send(createAccount("async-second", { async: true }));
      await queued(app, 1);
      const refused = await app.gateway.send(createAccount("async-third", { async: true })).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: "OVERLOADED", reason: "queue_full" });

      gate.open();
      await first;
      const { commandId } = await queuedAsync;
      const processed = await app.gateway.waitFor("t", commandId, { stage: "PROCESSED", timeoutMs: 30_000 });
      expect(processed).toMatchObject({ succeeded: true, aggregateId: "async-second" });
      expect(await commandsOf(testApp, "async-third")).toBe(0);
    });
  });

  describe("a queue wait limit", () => {
    // The wait limit is short, but no assertion depends on it: the gate stays shut until the
    // queued command has been refused, however long that takes.
    const testApp = useTestApp(engine, { admission: { maxInFlight: 1, maxQueued: 5, maxQueueWaitMs: 50 } });

    it("a command that waits past the queue limit is OVERLOADED with nothing stored; the command after it succeeds", async () => {
      const { app } = testApp;
      const gate = gateNextProcessing(app);
      const first = app.gateway.sendAndWait(createAccount("wait-first"));
      await gate.held();
      const refused = await app.gateway.sendAndWait(createAccount("wait-second")).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Overloaded);
      expect(refused).toMatchObject({ code: "OVERLOADED", reason: "queue_wait" });

      gate.open();
      expect(await first).toMatchObject({ succeeded: true });
      expect(await commandsOf(testApp, "wait-second")).toBe(0);
      expect(await app.gateway.sendAndWait(createAccount("wait-third"))).toMatchObject({ succeeded: true });
      expect(app.admission.use().shed).toEqual({ queue_full: 0, queue_wait: 1 });
    });
  });

  describe("an asynchronous command's place", () => {
    // No worker: an asynchronous command stays PENDING as long as the test runs.
    const testApp = useTestApp(engine, { admission: { ...ONE_PLACE, maxQueued: 0 } }, undefined, { workers: false });

    it("is given back once the command is stored, not held until a worker processes it", async () => {
      const { app } = testApp;
      const sent = await app.gateway.send(createAccount("pending", { async: true }));
      expect((await app.gateway.command("t", sent.commandId)).status).toBe("PENDING");
      expect(app.admission.use()).toMatchObject({ inFlight: 0 });
      // With one place and no queue, this would be refused if the pending command still held it.
      const next = await app.gateway.send(createAccount("next", { async: true }));
      expect(next.duplicate).toBe(false);
    });
  });

  describe("a place given back when the command fails", () => {
    const testApp = useTestApp(engine, { admission: ONE_PLACE });
    // isolate: false: a spy left in place would reach the other files of this worker.
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it("processing that throws while the caller waits (accept and process in one group commit)", async () => {
      const { app } = testApp;
      const spy = vi.spyOn(app.processor, "acceptAndProcess").mockRejectedValueOnce(boom());
      await expect(app.gateway.sendAndWait(createAccount("group-fails"))).rejects.toThrow("the disk is on fire");
      expect(spy).toHaveBeenCalledTimes(1);
      await placeGivenBack(app, "after-group-fails");
    });

    it("acceptance that throws (the command store's accept)", async () => {
      const { app } = testApp;
      const original = CommandStore.prototype.accept;
      let thrown = false;
      // Only this test's command fails: nothing else the app stores meanwhile is touched.
      vi.spyOn(CommandStore.prototype, "accept").mockImplementation(function (this: CommandStore, command) {
        if (command.aggregateId === "accept-fails" && !thrown) {
          thrown = true;
          return Promise.reject(boom());
        }
        return original.call(this, command);
      });
      await expect(app.gateway.send(createAccount("accept-fails"))).rejects.toThrow("the disk is on fire");
      expect(thrown).toBe(true);
      expect(await commandsOf(testApp, "accept-fails")).toBe(0);
      await placeGivenBack(app, "after-accept-fails");
    });

    it("background processing that throws after the command is stored (the caller waits for SENT only)", async () => {
      const { app } = testApp;
      const failed = failProcessingOnce(app, "process-fails");
      const sent = await app.gateway.send(createAccount("process-fails"));
      expect(sent.duplicate).toBe(false);
      await vi.waitFor(() => expect(failed.thrown).toBe(true), { timeout: 20_000 });
      await placeGivenBack(app, "after-process-fails");
    });

    it("a request ID reused with another payload (IDEMPOTENCY_KEY_REUSED)", async () => {
      const { app } = testApp;
      const requestId = "reused-request";
      expect(await app.gateway.sendAndWait({ ...createAccount("reused-a"), requestId })).toMatchObject({
        succeeded: true,
      });
      await expect(app.gateway.sendAndWait({ ...createAccount("reused-b"), requestId })).rejects.toMatchObject({
        code: "IDEMPOTENCY_KEY_REUSED",
      });
      await expect(app.gateway.send({ ...createAccount("reused-b"), requestId })).rejects.toMatchObject({
        code: "IDEMPOTENCY_KEY_REUSED",
      });
      expect(await commandsOf(testApp, "reused-b")).toBe(0);
      await placeGivenBack(app, "after-reused");
    });

    it("an asynchronous command whose processing in the worker throws", async () => {
      const { app } = testApp;
      const failed = failProcessingOnce(app, "async-fails");
      await app.gateway.send(createAccount("async-fails", { async: true }));
      await vi.waitFor(() => expect(failed.thrown).toBe(true), { timeout: 20_000 });
      await placeGivenBack(app, "after-async-fails");
    });
  });
});
