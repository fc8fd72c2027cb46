/**
 * The result factories: every field of a CommandResult comes from the subject, the stage's
 * fields or a default, and a stage result takes the first failure among its processors' outcomes.
 *
 * Catches: a factory dropping a field of its subject, a failure reported as success (or with
 * another failure's code), a stage result keeping one processor's own function or result.
 */
import { describe, expect, it } from "vitest";
import { failed, gatewayFunction, newResult, sentResult, stageResult, succeeded } from "../../src/core/results.ts";

const command = {
  commandId: "c1",
  correlationId: "root",
  tenantId: "t1",
  contextName: "banking",
  aggregateName: "Account",
  aggregateId: "ada",
  requestId: "r1",
  // Fields a command has and a result does not are left out.
  type: "Deposit",
};

const { type: _, ...subject } = command;

describe("result factories", () => {
  it("sentResult: the command's subject at SENT, from the gateway, succeeded, nothing decided", () => {
    const at = new Date(5);
    expect(sentResult(command, "42", at)).toEqual({
      id: "42",
      signalTime: at,
      ...subject,
      stage: "SENT",
      scope: "STAGE",
      function: { functionKind: "GATEWAY", contextName: "", processorName: "CommandGateway", name: "send" },
      aggregateVersion: null,
      positions: [],
      result: {},
      bindingErrors: [],
      succeeded: true,
      errorCode: "Ok",
      errorMsg: "",
    });
  });

  it("newResult: a failed outcome gives its code and message, never success", () => {
    const result = newResult(command, {
      stage: "PROCESSED",
      scope: "STAGE",
      function: gatewayFunction("x"),
      outcome: failed("VERSION_CONFLICT", "stale"),
      aggregateVersion: 3,
      positions: [7n],
    });
    expect(result).toMatchObject({ succeeded: false, errorCode: "VERSION_CONFLICT", errorMsg: "stale" });
    expect(result).toMatchObject({ aggregateVersion: 3, positions: [7n], commandId: "c1" });
    expect(result).not.toHaveProperty("type");
    expect(Object.isFrozen(succeeded)).toBe(true);
  });

  it("stageResult: the first failure among the outcomes, at STAGE scope, without the processor's name", () => {
    const signal = newResult(command, {
      stage: "PROJECTED",
      scope: "PROCESSOR",
      function: {
        functionKind: "PROJECTION",
        contextName: "banking",
        processorName: "AccountView",
        name: "projection",
      },
      aggregateVersion: 2,
      positions: [9n],
      result: { rows: 1 },
    });
    const ok = stageResult(signal, [signal]);
    expect(ok).toMatchObject({ scope: "STAGE", stage: "PROJECTED", succeeded: true, errorCode: "Ok" });
    expect(ok).toMatchObject({ aggregateVersion: 2, positions: [9n], result: {} });
    expect(ok.function).toEqual({ functionKind: "PROJECTION", contextName: "", processorName: "", name: "" });

    const bad = stageResult(signal, [succeeded, failed("PROCESSOR_FAILED", "first"), failed("PROCESSOR_HELD", "2nd")]);
    expect(bad).toMatchObject({ succeeded: false, errorCode: "PROCESSOR_FAILED", errorMsg: "first" });
  });

  it("stageResult keeps a saga's result (the commands it sent)", () => {
    const signal = newResult(command, {
      stage: "SAGA_HANDLED",
      scope: "PROCESSOR",
      function: { functionKind: "SAGA", contextName: "banking", processorName: "Transfer", name: "saga" },
      result: { commandIds: ["c2"] },
    });
    expect(stageResult(signal, [signal]).result).toEqual({ commandIds: ["c2"] });
  });
});
