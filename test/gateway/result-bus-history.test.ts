/**
 * What the result bus keeps for late subscribers (no database): every result of a command from
 * its SENT on, in publish order, for a bounded number of commands, oldest dropped first; nothing
 * for a command whose SENT it never published (a late subscriber then reads the store).
 */
import { describe, expect, it } from "vitest";
import type { CommandResult } from "../../src/core/stages.ts";
import { ResultBus } from "../../src/gateway/result-bus.ts";

const result = (commandId: string, stage: string, scope = "STAGE", errorCode = "Ok") =>
  ({
    id: `${commandId}-${stage}-${scope}`,
    commandId,
    correlationId: commandId,
    stage,
    scope,
    errorCode,
  }) as CommandResult;

describe("ResultBus history", () => {
  it("keeps a command's results from its SENT on, published and delivered, in order", () => {
    const bus = new ResultBus(10);
    bus.publish([result("a", "SENT"), result("a", "PROCESSED")]);
    bus.deliver([result("a", "PROJECTED", "PROCESSOR")]);
    expect(bus.recent("a")?.map((r) => r.id)).toEqual(["a-SENT-STAGE", "a-PROCESSED-STAGE", "a-PROJECTED-PROCESSOR"]);
  });

  it("keeps nothing for a command whose SENT it did not publish", () => {
    const bus = new ResultBus(10);
    bus.publish([result("b", "PROCESSED")]);
    bus.deliver([result("c", "SENT"), result("c", "PROCESSED")]);
    expect(bus.recent("b")).toBeUndefined();
    expect(bus.recent("c")).toBeUndefined();
  });

  it("drops the oldest command beyond its bound, and hands out copies", () => {
    const bus = new ResultBus(2);
    for (const id of ["x", "y", "z"]) bus.publish([result(id, "SENT")]);
    expect(bus.recent("x")).toBeUndefined();
    expect(bus.recent("y")).toHaveLength(1);
    bus.recent("z")?.push(result("z", "FAKE"));
    expect(bus.recent("z")).toHaveLength(1);
  });

  it("forgets a command set aside with COMMAND_FAILED: a retry replaces that answer in the store", () => {
    const bus = new ResultBus(10);
    bus.publish([result("q", "SENT")]);
    bus.publish([result("q", "PROCESSED", "STAGE", "COMMAND_FAILED")]);
    expect(bus.recent("q")).toBeUndefined();
    bus.publish([result("q", "PROCESSED")]);
    expect(bus.recent("q")).toBeUndefined();
  });
});

describe("ResultBus sent signal", () => {
  it("is raised before a SENT reaches the command's listeners, so a listener added on it gets that SENT", () => {
    const bus = new ResultBus(10);
    const got: string[] = [];
    bus.onSent(({ commandId }) => {
      bus.subscribe(commandId, (r) => got.push(r.id));
    });
    bus.publish([result("n", "SENT"), result("n", "PROCESSED")]);
    expect(got).toEqual(["n-SENT-STAGE", "n-PROCESSED-STAGE"]);
  });

  it("keeps a SENT from no wait when a sent listener throws, and the publisher still hears of it", () => {
    const bus = new ResultBus(10);
    const got: string[] = [];
    bus.subscribe("m", (r) => got.push(r.id));
    bus.onSent(() => {
      throw new Error("a broken listener");
    });
    expect(() => bus.publish([result("m", "SENT")])).toThrow("a broken listener");
    expect(got).toEqual(["m-SENT-STAGE"]);
  });
});
