/**
 * One name per thing, with the old names kept for the clients written against them: a chain's
 * root is `correlationId` (the deprecated `waitCommandId` resolves the same value) and a
 * command's payload is `data` (the console's deprecated `body` resolves the same value). On both
 * engines, on a mutation's answer, on the results of the commands a saga sent in the chain, and
 * on the console's chain; introspection marks the old fields deprecated. A processor's ID
 * (`<context>.<name>`) is `processorId` on the admin and console types (a dead letter's deprecated
 * `processor` and the types' `id` resolve the same value), while `processorName` stays the name
 * within the context, beside `contextName`.
 *
 * Catches: a deprecated field dropped (an old client breaks) or resolving something else (the
 * old `waitCommandId` is the root for a saga's command, not the command itself; a processor's
 * ID and its name within the context mixed up).
 */
import { describe, expect, it } from "vitest";
import { useTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

interface Names {
  commandId: string;
  correlationId: string;
  waitCommandId: string;
}

describe.each(engines)("new names and their deprecated ones on %s", (engine) => {
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

  it("resolves processorId as the dead letter's deprecated processor and as the processors' id", async () => {
    const catalog = (await post("{ consoleCatalog { processors { id processorId contextName processorName } } }"))
      .consoleCatalog as { processors: Record<"id" | "processorId" | "contextName" | "processorName", string>[] };
    const view = catalog.processors.find((p) => p.processorId === "banking.AccountView");
    expect(view).toEqual({
      id: "banking.AccountView",
      processorId: "banking.AccountView",
      contextName: "banking",
      processorName: "AccountView",
    });
    for (const p of catalog.processors) {
      expect(p.id).toBe(p.processorId);
      expect(p.processorId).toBe(`${p.contextName}.${p.processorName}`);
    }

    const status = (await post("{ processors { id processorId } }")).processors as {
      id: string;
      processorId: string;
    }[];
    expect(status.map((p) => p.processorId)).toContain("banking.AccountView");
    for (const p of status) expect(p.id).toBe(p.processorId);

    await t.db.sql.query(
      `INSERT INTO dead_letters (processor_name, position, transaction_id, event_type, error, attempts)
       VALUES ('banking.AccountView', 1, 1, 'AccountOpened', 'boom', 5)`,
    );
    const parked = (await post('{ deadLetters(processor: "banking.AccountView") { processorId processor position } }'))
      .deadLetters as { processorId: string; processor: string; position: string }[];
    expect(parked).toEqual([{ processorId: "banking.AccountView", processor: "banking.AccountView", position: "1" }]);
    await post(`mutation { discardDeadLetter(processor: "banking.AccountView", position: "1") }`);
  });

  it("marks DeadLetter.processor deprecated, and processorId and the name within a context not", async () => {
    const data = await post(`{
      DeadLetter: __type(name: "DeadLetter") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } }
      ProcessorStatus: __type(name: "ProcessorStatus") { fields(includeDeprecated: true) { name isDeprecated } }
      ProcessorInfo: __type(name: "ProcessorInfo") { fields(includeDeprecated: true) { name isDeprecated } }
      FunctionInfo: __type(name: "FunctionInfo") { fields(includeDeprecated: true) { name isDeprecated } }
    }`);
    type Field = { name: string; isDeprecated: boolean; deprecationReason?: string | null };
    const field = (type: string, name: string) =>
      (data[type] as { fields: Field[] }).fields.find((f) => f.name === name);
    expect(field("DeadLetter", "processor")).toMatchObject({
      isDeprecated: true,
      deprecationReason: expect.stringContaining("Use processorId (the same value)"),
    });
    for (const type of ["DeadLetter", "ProcessorStatus", "ProcessorInfo"]) {
      expect(field(type, "processorId")).toMatchObject({ isDeprecated: false });
    }
    for (const type of ["ProcessorInfo", "FunctionInfo"]) {
      expect(field(type, "processorName")).toMatchObject({ isDeprecated: false });
    }
  });
});
