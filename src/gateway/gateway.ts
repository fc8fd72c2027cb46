/**
 * The command gateway: validate, rewrite, de-duplicate, store (SENT), process (PROCESSED) and
 * let the caller wait for any later stage. One entry point for GraphQL, sagas and tests.
 */
import {
  AggregateNotFound,
  CommandNotFound,
  IdempotencyKeyReused,
  Unavailable,
  UnknownCommand,
  ValidationFailed,
} from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { Registry } from "../core/registry.ts";
import { INTERNAL_REQUEST_PREFIX, isInternalRequestId } from "../core/request-ids.ts";
import { sentResult } from "../core/results.ts";
import type { CommandResult, WaitTarget } from "../core/stages.ts";
import type { Logger } from "../logger.ts";
import { inSendScope } from "../ops/command-scope.ts";
import type { CommandStore, StoredCommand } from "../store/command-store.ts";
import type { ResultStore } from "../store/result-store.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import type { Admission, Release } from "./admission.ts";
import type { AggregateProcessor } from "./aggregate-processor.ts";
import { payloadHash } from "./payload-hash.ts";
import { RecentCommands } from "./recent-commands.ts";
import type { ResultBus } from "./result-bus.ts";
import { bindingErrors } from "./validation.ts";
import { waitForResults } from "./wait.ts";
import { answerOf } from "./wait-answer.ts";

export interface SendRequest {
  aggregateName: string;
  type: string;
  input: unknown;
  tenantId: string;
  aggregateId?: string | null;
  /** Idempotency key (per tenant); defaults to the command ID. Never of the reserved internal form. */
  requestId?: string | null;
  /**
   * Set by sagas instead of `requestId`: a request ID in the internal namespace
   * (`sagaRequestId`), which no client's `requestId` can take.
   */
  internalRequestId?: string;
  /** Refuse the command unless the aggregate is at exactly this version. */
  expectedVersion?: number | null;
  header?: Record<string, unknown>;
  /** Store now, process in a worker. Defaults to the gateway's configuration. */
  async?: boolean | null;
  /**
   * Set by sagas: the chain this command belongs to. The correlation ID is the chain's root
   * command, which is also what a client waits on (the results' `correlationId`).
   */
  chain?: { correlationId: string; causationId: string };
}

export interface Wait extends WaitTarget {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Sent {
  commandId: string;
  /** A duplicate of an earlier request: nothing was processed again; results are the original's. */
  duplicate: boolean;
  results: AsyncGenerator<CommandResult>;
}

export interface GatewayOptions {
  processing: "sync" | "async";
  waitTimeoutMs: number;
  /** A wait's first store re-read (wait.ts); default 200 ms. */
  waitPollMs?: number;
  /** How many recently accepted commands' tenants are kept for result subscriptions (default 10,000). */
  recentCommands?: number;
}

const MAX_ID_LENGTH = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class CommandGateway {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly recent: RecentCommands;

  constructor(
    private readonly deps: {
      registry: Registry;
      commands: CommandStore;
      results: ResultStore;
      bus: ResultBus;
      processor: AggregateProcessor;
      logger: Logger;
      /** Told when an asynchronous command was queued, so a worker looks at once. */
      onQueued?: () => void;
      /**
       * Bounds the commands doing storage work at once (admission.ts); absent: unbounded. A
       * client's command holds its place from its acceptance to the end of its processing here
       * (an asynchronous one: to its acceptance; the worker bounds the rest). Sagas' commands
       * pass: their runner bounds them (SAGA_CONCURRENCY), and a refusal would park the event.
       */
      admission?: Admission;
    },
    private readonly options: GatewayOptions,
  ) {
    this.recent = new RecentCommands(options.recentCommands ?? 10_000);
  }

  /** Sends a command; the returned stream carries every result up to the wait's target. */
  async send(request: SendRequest, wait: Wait = { stage: "SENT" }): Promise<Sent> {
    const command = await this.prepare(request);
    return inSendScope(command, this.deps.logger, () => this.sendPrepared(command, wait));
  }

  /** `send` once the command is built: inside its log context and trace span (src/ops). */
  private async sendPrepared(command: Omit<StoredCommand, "status" | "createdAt">, wait: Wait): Promise<Sent> {
    // Refused here (OVERLOADED) before anything is stored or listened to.
    const admission = this.deps.admission;
    const release: Release = admission && !isInternalRequestId(command.requestId) ? await admission.enter() : () => {};
    // Handed to the background processing when there is one, else given back on the way out.
    let releaseOnReturn = true;
    // Listening before the command is stored: every result of it this process publishes is
    // seen, so the wait reads nothing from the store (wait.ts).
    const results = this.wait(command.commandId, wait, true);
    try {
      if (!command.async && wait.stage !== "SENT") {
        // The caller waits beyond SENT: accept and process in one group commit (SENT is still
        // stored and published first). A taken request ID stores nothing there; the ordinary
        // accept below then finds the command that holds it.
        const processing = this.deps.processor.acceptAndProcess(command);
        this.track(processing);
        if ((await processing).accepted) {
          this.recent.add(command.commandId, command.tenantId);
          return { commandId: command.commandId, duplicate: false, results };
        }
      }
      const outcome = await this.deps.commands.accept(command);
      if (!outcome.accepted) {
        await results.return(undefined);
        if (outcome.existing.payloadHash !== command.payloadHash) {
          throw new IdempotencyKeyReused(command.requestId, outcome.existing.commandId);
        }
        return {
          commandId: outcome.existing.commandId,
          duplicate: true,
          results: this.wait(outcome.existing.commandId, wait),
        };
      }
      this.recent.add(command.commandId, command.tenantId);
      this.deps.bus.publish([sentResult(command, outcome.sentResultId, outcome.sentAt)]);
      if (command.async) this.deps.onQueued?.();
      else {
        this.processInBackground(outcome.command, release);
        releaseOnReturn = false;
      }
      return { commandId: command.commandId, duplicate: false, results };
    } catch (error) {
      await results.return(undefined);
      throw error;
    } finally {
      if (releaseOnReturn) release();
    }
  }

  /**
   * Sends and resolves with the answer about this command: the target's result, a failure's,
   * or a timeout's; for a chain, the stage the chain reached and its failures (wait-answer.ts).
   */
  async sendAndWait(request: SendRequest, wait: Wait = { stage: "PROCESSED" }): Promise<CommandResult> {
    const { commandId, results } = await this.send(request, wait);
    return answerOf(commandId, wait, results);
  }

  /** The results of a command already sent: stored ones first, then live, up to the target. */
  async results(tenantId: string, commandId: string, wait: Wait): Promise<AsyncGenerator<CommandResult>> {
    // A command this process accepted lately needs no store read to know it is the tenant's.
    const recentTenant = this.recent.tenantOf(commandId);
    if (recentTenant === undefined) await this.command(tenantId, commandId);
    else if (recentTenant !== tenantId) throw new CommandNotFound(commandId);
    return this.wait(commandId, wait);
  }

  /** Waits for a command already sent and resolves with the answer about it (as `sendAndWait`). */
  async waitFor(tenantId: string, commandId: string, wait: Wait): Promise<CommandResult> {
    return answerOf(commandId, wait, await this.results(tenantId, commandId, wait));
  }

  /** Every result stored for the command so far. */
  async resultsSoFar(tenantId: string, commandId: string): Promise<CommandResult[]> {
    await this.command(tenantId, commandId);
    return this.deps.results.byCommand(commandId);
  }

  /** The stored command, if it belongs to the tenant (another tenant's commands do not exist for it). */
  async command(tenantId: string, commandId: string): Promise<StoredCommand> {
    const command = UUID.test(commandId) ? await this.deps.commands.byId(commandId) : undefined;
    if (!command || command.tenantId !== tenantId) throw new CommandNotFound(commandId);
    return command;
  }

  /** Resolves when every command processed in the background has finished (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** `own`: created before this process accepts the command (no store read; see wait.ts). */
  private wait(commandId: string, wait: Wait, own = false): AsyncGenerator<CommandResult> {
    return waitForResults(this.deps, commandId, {
      target: wait,
      timeoutMs: wait.timeoutMs ?? this.options.waitTimeoutMs,
      signal: wait.signal,
      pollMs: this.options.waitPollMs,
      own,
    });
  }

  private processInBackground(command: StoredCommand, release: Release): void {
    const task = this.deps.processor.process(command).catch((error: unknown) => {
      // Left PENDING: the worker retries it. A lost database ends the waits at once (the client
      // may retry with the same requestId); anything else leaves them to their timeout.
      this.deps.logger.error({ err: error, commandId: command.commandId }, "processing failed; left for the worker");
      if (isDatabaseUnavailable(error)) {
        this.deps.bus.interrupt(
          command.commandId,
          new Unavailable(
            "The database went away while processing the command; it is stored and will be processed, or retry with the same requestId",
          ),
        );
      }
    });
    void task.finally(release);
    this.track(task);
  }

  /** Graceful shutdown waits for it. */
  private track(task: Promise<unknown>): void {
    const settled = task.catch(() => {});
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
  }

  private async prepare(request: SendRequest): Promise<Omit<StoredCommand, "status" | "createdAt">> {
    const registered = this.deps.registry.command(request.aggregateName, request.type);
    if (!registered) throw new UnknownCommand(`No command ${request.type} on aggregate ${request.aggregateName}`);
    const problems = [];
    const parsed = registered.spec.input.safeParse(request.input ?? {});
    if (!parsed.success) problems.push(...bindingErrors(parsed.error, "input"));
    problems.push(...checkOptions(request));
    if (problems.length > 0 || !parsed.success) throw new ValidationFailed(problems);

    const mode = registered.spec.mode ?? "update";
    let aggregateId = request.aggregateId ?? undefined;
    if (!aggregateId && registered.spec.resolveAggregateId) {
      aggregateId = await registered.spec.resolveAggregateId(parsed.data, { tenantId: request.tenantId });
      if (!aggregateId) {
        throw new AggregateNotFound(`No ${registered.aggregate.name} matches this ${request.type} command`);
      }
    }
    if (!aggregateId && mode === "create") aggregateId = newId();
    if (!aggregateId) {
      throw new ValidationFailed([
        {
          field: "command.aggregateId",
          code: "required",
          message: `${request.type} needs the ${registered.aggregate.name} ID`,
        },
      ]);
    }

    const commandId = newId();
    const requestId = request.internalRequestId ?? request.requestId ?? commandId;
    const expectedVersion = request.expectedVersion ?? null;
    return {
      commandId,
      tenantId: request.tenantId,
      requestId,
      payloadHash: payloadHash({
        aggregate: registered.aggregate.name,
        type: registered.type,
        // A generated ID is not part of what the caller asked for.
        aggregateId: request.aggregateId ?? null,
        // Still `body` here: the key is hashed, and a retry must match the hashes already stored.
        body: parsed.data,
        expectedVersion,
      }),
      contextName: registered.contextName,
      aggregateName: registered.aggregate.name,
      aggregateId,
      type: registered.type,
      data: parsed.data as Record<string, unknown>,
      header: request.header ?? {},
      expectedVersion,
      correlationId: request.chain?.correlationId ?? commandId,
      causationId: request.chain?.causationId ?? commandId,
      async: request.async ?? this.options.processing === "async",
    };
  }
}

function checkOptions(request: SendRequest) {
  const problems = [];
  const id = (field: string, value: string | null | undefined) => {
    if (value === undefined || value === null) return;
    if (value.trim() === "" || value.length > MAX_ID_LENGTH) {
      problems.push({ field, code: "invalid_string", message: `Must be 1 to ${MAX_ID_LENGTH} characters` });
    }
  };
  id("command.aggregateId", request.aggregateId);
  id("command.requestId", request.requestId);
  if (request.requestId && isInternalRequestId(request.requestId)) {
    problems.push({
      field: "command.requestId",
      code: "reserved",
      message: `Request IDs starting with "${INTERNAL_REQUEST_PREFIX}" are reserved for the system's own commands`,
    });
  }
  if (request.internalRequestId !== undefined && !isInternalRequestId(request.internalRequestId)) {
    // A programming error of an in-process caller, not bad client input.
    throw new Error(`An internal request ID must start with "${INTERNAL_REQUEST_PREFIX}"`);
  }
  const v = request.expectedVersion;
  if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0)) {
    problems.push({ field: "command.expectedVersion", code: "too_small", message: "Must be an integer ≥ 0" });
  }
  return problems;
}

export async function lastOf(results: AsyncIterable<CommandResult>): Promise<CommandResult> {
  let last: CommandResult | undefined;
  for await (const result of results) last = result;
  if (!last) throw new Error("The wait ended without any result");
  return last;
}
