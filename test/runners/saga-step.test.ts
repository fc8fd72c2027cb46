/**
 * A saga's step against a stub gateway (no database): the outcomes a real gateway only gives
 * under load or failure — a wait that times out — are written out here, so what the saga does
 * with them is tested every time. The end-to-end semantics are in runners.test.ts.
 */
import { describe, expect, it } from "vitest";
import { CoreCode, IdempotencyKeyReused } from "../../src/core/errors.ts";
import type { RecordedEvent } from "../../src/core/messages.ts";
import { defineSaga } from "../../src/core/processors.ts";
import type { RegisteredProcessor } from "../../src/core/registry.ts";
import { type CommandResult, OK } from "../../src/core/stages.ts";
import type { CommandGateway, SendRequest } from "../../src/gateway/gateway.ts";
import { toStep } from "../../src/runners/processor-adapters.ts";

const event: RecordedEvent = {
  tenantId: "default",
  aggregateName: "Account",
  aggregateId: "ada",
  position: 42n,
  transactionId: 7n,
  version: 2,
  type: "TransferPrepared",
  schemaVersion: 1,
  data: {},
  createdAt: new Date(0),
  commandId: "root",
  requestId: "root",
  correlationId: "root",
  causationId: "root",
} as unknown as RecordedEvent;

/** A gateway whose every send answers at PROCESSED with `outcome` (and records the request). */
function stubGateway(outcome: Partial<CommandResult>) {
  const sent: SendRequest[] = [];
  const gateway = {
    async send(request: SendRequest) {
      sent.push(request);
      const commandId = `c${sent.length}`;
      async function* results(): AsyncGenerator<CommandResult> {
        yield {
          commandId,
          stage: "PROCESSED",
          errorCode: OK,
          errorMsg: "",
          succeeded: true,
          ...outcome,
        } as CommandResult;
      }
      return { commandId, duplicate: false, results: results() };
    },
  } as unknown as CommandGateway;
  return { gateway, sent };
}

const compensated: string[] = [];
const saga = defineSaga({
  name: "Stub",
  eventTypes: ["TransferPrepared"],
  react: () => [
    {
      aggregateName: "Account",
      aggregateId: "bob",
      type: "ReceiveTransfer",
      key: "entry",
      data: {},
      onRejected: (rejection) => {
        compensated.push(rejection.errorCode);
        return [];
      },
    },
    { aggregateName: "Account", aggregateId: "ada", type: "ConfirmTransfer", key: "confirm", data: {} },
  ],
});
const registered = { id: "test.Stub", contextName: "test", processor: saga } as RegisteredProcessor;

describe("a saga's step", () => {
  it("a wait that times out fails the batch: no compensation, nothing more sent", async () => {
    // Catches a timed-out wait (it answers at the target stage, PROCESSED, not succeeded) taken
    // for a refusal (verified): the saga would unlock money for a command still to be accepted.
    const { gateway, sent } = stubGateway({ succeeded: false, errorCode: CoreCode.WAIT_TIMEOUT });
    const step = toStep(registered, { gateway } as unknown as Parameters<typeof toStep>[1]);
    await expect(step.prepare([event])).rejects.toThrow(CoreCode.WAIT_TIMEOUT);
    expect(compensated).toEqual([]);
    expect(sent).toHaveLength(1);
  });

  it("sends with a request ID in the internal namespace, derived from saga, event and key", async () => {
    const { gateway, sent } = stubGateway({});
    const step = toStep(registered, { gateway } as unknown as Parameters<typeof toStep>[1]);
    const prepared = await step.prepare([event]);
    expect(sent.map((r) => [r.internalRequestId, r.requestId, r.async])).toEqual([
      ["internal:saga:test.Stub:42:entry", undefined, false],
      ["internal:saga:test.Stub:42:confirm", undefined, false],
    ]);
    expect(prepared.resultsByCommand?.get("root")).toEqual({ commandIds: ["c1", "c2"], refused: [], notSent: [] });
  });

  it("a replay that asks for another payload under a key already used goes on with what was sent", async () => {
    // A reaction that looks things up may decide differently when replayed. Catches the
    // gateway's IDEMPOTENCY_KEY_REUSED failing the batch for good (verified: the event would
    // be parked, the money left locked).
    const asked: string[] = [];
    const gateway = {
      async send(request: SendRequest) {
        asked.push(request.internalRequestId!);
        throw new IdempotencyKeyReused(request.internalRequestId!, `first-${asked.length}`);
      },
      async results(tenantId: string, commandId: string) {
        async function* results(): AsyncGenerator<CommandResult> {
          yield {
            commandId,
            tenantId,
            stage: "PROCESSED",
            errorCode: OK,
            errorMsg: "",
            succeeded: true,
          } as CommandResult;
        }
        return results();
      },
    } as unknown as CommandGateway;
    const step = toStep(registered, { gateway } as unknown as Parameters<typeof toStep>[1]);
    const prepared = await step.prepare([event]);
    expect(asked).toEqual(["internal:saga:test.Stub:42:entry", "internal:saga:test.Stub:42:confirm"]);
    expect(prepared.resultsByCommand?.get("root")).toEqual({
      commandIds: ["first-1", "first-2"],
      refused: [],
      notSent: [],
    });
  });
});
