/**
 * One name per thing, with the old names kept for the clients written against them: a chain's
 * root is `correlationId` (the deprecated `waitCommandId` resolves the same value) and a
 * command's payload is `data` (the console's deprecated `body` resolves the same value). On both
 * engines, on a mutation's answer, on the results of the commands a saga sent in the chain, and
 * on the console's chain; introspection marks the old fields deprecated.
 *
 * Catches: a deprecated field dropped (an old client breaks) or resolving something else (the
 * old `waitCommandId` is the root for a saga's command, not the command itself).
 */
import { describe, expect, it } from "vitest";
import { useTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

interface Names {
  commandId: string;
  correlationId: string;
  waitCommandId: string;
}

describe.each(engines)("correlationId and its deprecated names on %s", (engine) => {
  const t = useTestApp(engine);
  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const json = (await t.post({ query, variables })).json;
    expect(json.errors).toBeUndefined();
    return json.data as Record<string, unknown>;
  };

  it("resolves waitCommandId as correlationId on a mutation's answer and on the chain's saga commands", async () => {
    for (const [id, balance] of [
      ["names-ann", 100],
      ["names-bob", 0],
    ] as const) {
      await post(
        `mutation($id: ID, $balance: Int) {
          createAccount(input: { name: "n", initialBalance: $balance }, command: { aggregateId: $id, waitFor: { stage: PROJECTED } }) { succeeded }
        }`,
        { id, balance },
      );
    }
    const answer = (
      await post(
        `mutation {
          prepareTransfer(input: { transferId: "names-1", targetAccountId: "names-bob", amount: 30 },
                          command: { aggregateId: "names-ann", waitFor: { stage: SAGA_HANDLED, chain: true } }) {
            commandId correlationId waitCommandId succeeded
          }
        }`,
      )
    ).prepareTransfer as Names & { succeeded: boolean };
    expect(answer.succeeded).toBe(true);
    const root = answer.commandId;
    expect(answer).toMatchObject({ correlationId: root, waitCommandId: root });

    const chain = (
      await post(
        `query($id: ID!) {
          commandChain(commandId: $id) {
            type commandId correlationId waitCommandId data body
            results { commandId correlationId waitCommandId stage }
          }
        }`,
        { id: root },
      )
    ).commandChain as (Names & {
      type: string;
      data: unknown;
      body: unknown;
      results: (Names & { stage: string })[];
    })[];
    expect(chain.map((c) => c.type)).toEqual(["PrepareTransfer", "ReceiveTransfer", "ConfirmTransfer"]);
    for (const command of chain) {
      expect(command).toMatchObject({ correlationId: root, waitCommandId: root });
      expect(command.body).toEqual(command.data);
      expect(command.results.length).toBeGreaterThan(0);
      for (const result of command.results) expect(result).toMatchObject({ correlationId: root, waitCommandId: root });
    }
    expect(chain[0]!.data).toEqual({ transferId: "names-1", targetAccountId: "names-bob", amount: 30 });

    // A saga's command, asked for by its own ID: its results still name the chain's root.
    const sagaCommand = chain[1]!.commandId;
    expect(sagaCommand).not.toBe(root);
    const results = (
      await post(`query($id: ID!) { commandResults(commandId: $id) { commandId correlationId waitCommandId } }`, {
        id: sagaCommand,
      })
    ).commandResults as Names[];
    expect(results.length).toBeGreaterThan(0);
    for (const result of results) {
      expect(result).toEqual({ commandId: sagaCommand, correlationId: root, waitCommandId: root });
    }
  });

  it("marks waitCommandId and ConsoleCommand.body deprecated, and their new names not", async () => {
    const data = await post(`{
      result: __type(name: "CommandResult") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } }
      command: __type(name: "ConsoleCommand") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } }
    }`);
    type Field = { name: string; isDeprecated: boolean; deprecationReason: string | null };
    const field = (type: "result" | "command", name: string) =>
      (data[type] as { fields: Field[] }).fields.find((f) => f.name === name);
    for (const type of ["result", "command"] as const) {
      expect(field(type, "waitCommandId")).toMatchObject({
        isDeprecated: true,
        deprecationReason: expect.stringContaining("Use correlationId"),
      });
      expect(field(type, "correlationId")).toMatchObject({ isDeprecated: false });
    }
    expect(field("command", "body")).toMatchObject({
      isDeprecated: true,
      deprecationReason: expect.stringContaining("Use data"),
    });
    expect(field("command", "data")).toMatchObject({ isDeprecated: false });
  });
});
