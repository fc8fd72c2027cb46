/**
 * The GraphQL fields the console reads, on both engines, with authentication on and
 * introspection off (as in production) and AUTH_RESULTS_SENDER_ONLY on: recent commands, chains
 * and the live feed are the caller's tenant only, and of that only the chains it sent (or with
 * no recorded sender), a chain is a tree (each saga command names its parent), the live feed carries the
 * tenant's commands as they are sent, the catalogue describes each command's input without
 * introspection, and processors and dead letters need the admin role.
 */
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AUTH_ENV, bearer, codesOf, securityConfig, startSecureApp, token } from "../security/support.ts";
import { accountCommand, CREATE_ACCOUNT, DEPOSIT, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

interface Listed {
  commandId: string;
  type: string;
  aggregateId: string;
  parentCommandId: string | null;
  correlationId: string;
  results: { stage: string; scope: string; succeeded: boolean }[];
}

const LISTED = "commandId type aggregateId parentCommandId correlationId results { stage scope succeeded }";

describe.each(engines)("the console's API on %s", (engine) => {
  let t: TestApp;
  let teller: Record<string, string>;
  let admin: Record<string, string>;
  let transferId: string;

  beforeAll(async () => {
    const security = securityConfig({ ...AUTH_ENV, AUTH_RESULTS_SENDER_ONLY: "true" });
    t = await startSecureApp(engine, { ...security, introspection: false });
    teller = bearer(await token({ tenants: ["acme", "globex"], roles: ["teller"] }));
    admin = bearer(await token({ tenants: ["acme"], roles: ["admin"] }));
    const send = (type: string, id: string, input: unknown, tenant = "acme") =>
      t.app.gateway.sendAndWait(accountCommand(type, id, input, tenant), { stage: "PROCESSED" });
    await send("CreateAccount", "ada", { name: "Ada", initialBalance: 10_000 });
    await send("CreateAccount", "bob", { name: "Bob" });
    await send("CreateAccount", "eve", { name: "Eve" }, "globex");
    const transfer = await t.app.gateway.sendAndWait(
      accountCommand("PrepareTransfer", "ada", { transferId: "t-1", targetAccountId: "bob", amount: 2500 }, "acme"),
      { stage: "SAGA_HANDLED", chain: true },
    );
    expect(transfer.succeeded).toBe(true);
    transferId = transfer.commandId;
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  });

  const query = async (text: string, headers: Record<string, string>, variables: Record<string, unknown> = {}) =>
    (await t.post({ query: text, variables }, headers)).json;

  it("recentCommands lists the tenant's commands, newest first, and nothing of another tenant's", async () => {
    const ALL_STAGES = ["SENT", "PROCESSED", "SNAPSHOT", "PROJECTED", "EVENT_HANDLED", "SAGA_HANDLED"];
    const stagesOf = (command: Listed) => command.results.filter((r) => r.scope === "STAGE").map((r) => r.stage);
    let listed: Listed[] = [];
    // The chain wait ends at SAGA_HANDLED; the snapshot of the transfer may come a little later.
    await waitUntil(
      "the transfer to reach all six stages in recentCommands",
      async () => {
        const acme = await query(`{ recentCommands(first: 10) { ${LISTED} } }`, { ...teller, "x-tenant-id": "acme" });
        listed = acme.data!.recentCommands as Listed[];
        const prepared = listed.find((c) => c.type === "PrepareTransfer");
        return prepared !== undefined && ALL_STAGES.every((stage) => stagesOf(prepared).includes(stage));
      },
      { timeoutMs: 30_000, progress: () => JSON.stringify(listed.map((c) => [c.type, stagesOf(c)])) },
    );
    expect(listed.map((c) => c.type)).toEqual([
      "ConfirmTransfer",
      "ReceiveTransfer",
      "PrepareTransfer",
      "CreateAccount",
      "CreateAccount",
    ]);
    expect(listed.map((c) => c.aggregateId)).not.toContain("eve");
    expect(stagesOf(listed[2]!)).toEqual(expect.arrayContaining(ALL_STAGES));
    const page = await query(`query($before: ID) { recentCommands(first: 2, before: $before) { type } }`, teller, {
      before: listed[1]!.commandId,
    });
    expect((page.data!.recentCommands as Listed[]).map((c) => c.type)).toEqual(["PrepareTransfer", "CreateAccount"]);

    const globex = await query(`{ recentCommands { ${LISTED} } }`, { ...teller, "x-tenant-id": "globex" });
    expect((globex.data!.recentCommands as Listed[]).map((c) => c.aggregateId)).toEqual(["eve"]);
  });

  it("commandChain is the tree of the chain: each saga command under the command whose event caused it", async () => {
    const { data, errors } = await query(
      `query($id: ID!) { commandChain(commandId: $id) { ${LISTED} } }`,
      { ...teller, "x-tenant-id": "acme" },
      { id: transferId },
    );
    expect(errors).toBeUndefined();
    const chain = data!.commandChain as Listed[];
    const byType = Object.fromEntries(chain.map((c) => [c.type, c]));
    expect(chain.map((c) => c.type)).toEqual(["PrepareTransfer", "ReceiveTransfer", "ConfirmTransfer"]);
    expect(byType.PrepareTransfer!.parentCommandId).toBeNull();
    expect(byType.ReceiveTransfer!.parentCommandId).toBe(transferId);
    expect(byType.ConfirmTransfer!.parentCommandId).toBe(byType.ReceiveTransfer!.commandId);
    expect(new Set(chain.map((c) => c.correlationId))).toEqual(new Set([transferId]));

    // Asked from any command of the chain, the same tree.
    const fromLeaf = await query(`query($id: ID!) { commandChain(commandId: $id) { commandId } }`, teller, {
      id: byType.ConfirmTransfer!.commandId,
    });
    expect((fromLeaf.data!.commandChain as Listed[]).map((c) => c.commandId)).toEqual(chain.map((c) => c.commandId));

    const elsewhere = await query(
      `query($id: ID!) { commandChain(commandId: $id) { commandId } }`,
      { ...teller, "x-tenant-id": "globex" },
      { id: transferId },
    );
    expect(codesOf(elsewhere.errors)).toEqual(["COMMAND_NOT_FOUND"]);
  });

  /** A commandsSent subscription over graphql-ws, collecting what arrives. */
  /** A graphql-ws subscription as `authorization` on `tenantId`, collecting what `field` carries. */
  function subscribeTo<T>(authorization: string, tenantId: string, operation: string, field: string) {
    const client = createClient({
      url: t.wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization, tenantId },
    });
    const received: T[] = [];
    const errors: unknown[] = [];
    const stop = client.subscribe<Record<string, T>>(
      { query: operation },
      {
        next: (r) => (r.errors ? errors.push(r.errors) : received.push(r.data![field]!)),
        error: (e) => errors.push(e),
        complete: () => {},
      },
    );
    return {
      received,
      errors,
      async close() {
        stop();
        await client.dispose();
      },
    };
  }

  const subscribeFeed = (authorization: string, tenantId: string) =>
    subscribeTo<Listed>(authorization, tenantId, `subscription { commandsSent { ${LISTED} } }`, "commandsSent");

  it("commandsSent streams the tenant's commands as they are sent, and no other tenant's", async () => {
    const feed = subscribeFeed(teller.authorization!, "acme");
    const { received, errors } = feed;
    const send = (type: string, id: string, tenant: string) =>
      t.app.gateway.sendAndWait(accountCommand(type, id, { amount: 1 }, tenant), { stage: "PROCESSED" });
    const has = (type: string, id: string) => received.some((c) => c.type === type && c.aggregateId === id);
    try {
      // Deposits until the feed carries one: then it is surely listening.
      await waitUntil(
        "the feed to carry a deposit",
        async () => {
          if (!has("Deposit", "ada")) await send("Deposit", "ada", "acme");
          return has("Deposit", "ada");
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      await send("Deposit", "eve", "globex");
      await send("Withdraw", "bob", "acme");
      await waitUntil("the withdrawal on the feed", () => has("Withdraw", "bob"), { timeoutMs: 30_000 });
    } finally {
      await feed.close();
    }
    expect(errors).toEqual([]);
    expect(received.filter((c) => c.aggregateId === "eve")).toEqual([]);
    expect(received.filter((c) => c.type === "Withdraw")).toHaveLength(1);
    expect(received.at(-1)!.results.map((r) => r.stage)).toContain("SENT");
    // Each command once, however it reached the feed (the bus, or the re-read of the store).
    expect(new Set(received.map((c) => c.commandId)).size).toBe(received.length);
  });

  it("with AUTH_RESULTS_SENDER_ONLY, the console shows a signed-in caller only the chains it sent", async () => {
    const as = async (subject: string): Promise<Record<string, string>> => ({
      ...bearer(await token({ tenants: ["initech"], roles: ["teller"], subject })),
      "x-tenant-id": "initech",
    });
    const alice = await as("alice");
    const tester = await as("tester");
    const create = async (headers: Record<string, string>, name: string) => {
      const { data, errors } = await query(CREATE_ACCOUNT, headers, {
        name,
        command: { aggregateId: name, waitFor: { stage: "PROCESSED" } },
      });
      expect(errors).toBeUndefined();
      return (data!.createAccount as { commandId: string }).commandId;
    };
    // A command with no recorded sender (sent by the server itself) stays everyone's.
    await t.app.gateway.sendAndWait(accountCommand("CreateAccount", "house", { name: "House" }, "initech"));
    const alices = await create(alice, "al");
    await create(tester, "te");
    const ids = async (headers: Record<string, string>) =>
      ((await query("{ recentCommands { aggregateId } }", headers)).data!.recentCommands as Listed[]).map(
        (c) => c.aggregateId,
      );
    expect(await ids(tester)).toEqual(["te", "house"]);
    expect(await ids(alice)).toEqual(["al", "house"]);

    const chain = `query($id: ID!) { commandChain(commandId: $id) { commandId } }`;
    expect(codesOf((await query(chain, tester, { id: alices })).errors)).toEqual(["COMMAND_NOT_FOUND"]);
    expect((await query(chain, alice, { id: alices })).data!.commandChain).toEqual([{ commandId: alices }]);

    // The live feed too: alice's deposit never reaches tester's feed, tester's own does.
    const feed = subscribeFeed(tester.authorization!, "initech");
    try {
      const deposit = (headers: Record<string, string>, id: string) =>
        query(DEPOSIT, headers, { amount: 1, command: { aggregateId: id, waitFor: { stage: "PROCESSED" } } });
      await waitUntil(
        "tester's feed to carry tester's deposit",
        async () => {
          await deposit(alice, "al");
          await deposit(tester, "te");
          return feed.received.some((c) => c.aggregateId === "te");
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } finally {
      await feed.close();
    }
    expect(feed.errors).toEqual([]);
    expect(feed.received.map((c) => c.aggregateId)).not.toContain("al");
  });

  it("recentCommandResults streams the stored and new results of the tenant's commands, only the caller's chains", async () => {
    const as = async (subject: string): Promise<Record<string, string>> => ({
      ...bearer(await token({ tenants: ["umbrella"], roles: ["teller"], subject })),
      "x-tenant-id": "umbrella",
    });
    const carol = await as("carol");
    const dave = await as("dave");
    /** Sends a command mutation; its command ID. */
    const run = async (headers: Record<string, string>, operation: string, variables: Record<string, unknown>) => {
      const { data, errors } = await query(operation, headers, variables);
      expect(errors).toBeUndefined();
      return (Object.values(data!)[0] as { commandId: string }).commandId;
    };
    const create = (headers: Record<string, string>, id: string) =>
      run(headers, CREATE_ACCOUNT, { name: id, command: { aggregateId: id, waitFor: { stage: "PROCESSED" } } });
    // Before the stream starts: a command with no recorded sender (everyone's) and carol's.
    await t.app.gateway.sendAndWait(accountCommand("CreateAccount", "hq", { name: "HQ" }, "umbrella"));
    await create(carol, "ca");

    interface Streamed {
      id: string;
      commandId: string;
      aggregateId: string;
      stage: string;
      scope: string;
    }
    const feed = subscribeTo<Streamed>(
      dave.authorization!,
      "umbrella",
      "subscription { recentCommandResults(first: 10) { id commandId aggregateId stage scope } }",
      "recentCommandResults",
    );
    const reached = (aggregateId: string, stage: string) =>
      feed.received.some((r) => r.aggregateId === aggregateId && r.stage === stage && r.scope === "STAGE");
    try {
      // First what is stored: the house command's results, all of its stages.
      await waitUntil("the stored results of the house command", () => reached("hq", "SAGA_HANDLED"), {
        timeoutMs: 30_000,
      });
      // Then what happens after: dave's new account reaches its last stage on the stream, while
      // carol's deposit and another tenant's never show.
      await run(carol, DEPOSIT, { amount: 1, command: { aggregateId: "ca", waitFor: { stage: "PROCESSED" } } });
      await t.app.gateway.sendAndWait(accountCommand("Deposit", "eve", { amount: 1 }, "globex"));
      await create(dave, "da");
      await waitUntil("dave's account through every stage", () => reached("da", "SAGA_HANDLED"), {
        timeoutMs: 30_000,
      });
      // From its first stage: the stream follows a new command as it is sent, before its SENT goes out.
      expect(reached("da", "SENT")).toBe(true);
      // A command on an account listed before the stream started: its later stages arrive live too.
      const deposit = await run(dave, DEPOSIT, {
        amount: 2,
        command: { aggregateId: "hq", waitFor: { stage: "PROCESSED" } },
      });
      await waitUntil(
        "the deposit on the house account through every stage",
        () => feed.received.some((r) => r.commandId === deposit && r.stage === "SAGA_HANDLED" && r.scope === "STAGE"),
        { timeoutMs: 30_000 },
      );
    } finally {
      await feed.close();
    }
    expect(feed.errors).toEqual([]);
    expect(new Set(feed.received.map((r) => r.aggregateId))).toEqual(new Set(["hq", "da"]));
    // Each result once, however it reached the stream (the store, the bus, a re-read).
    expect(new Set(feed.received.map((r) => r.id)).size).toBe(feed.received.length);
  });

  it("consoleCatalog describes every command's input while introspection is off", async () => {
    const introspection = await query("{ __schema { types { name } } }", teller);
    expect(new Set(codesOf(introspection.errors))).toEqual(new Set(["GRAPHQL_VALIDATION_FAILED"]));

    const { data, errors } = await query(
      "{ consoleCatalog { commands { mutation inputType fields } aggregates processors { id kind processorName } } }",
      teller,
    );
    expect(errors).toBeUndefined();
    const catalog = data!.consoleCatalog as {
      commands: {
        mutation: string;
        inputType: string | null;
        fields: { name: string; type: string; required: boolean }[];
      }[];
      aggregates: string[];
      processors: { id: string; kind: string }[];
    };
    const create = catalog.commands.find((c) => c.mutation === "createAccount")!;
    expect(create.inputType).toBe("CreateAccountInput");
    expect(create.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "name", type: "String", required: true }),
        expect.objectContaining({ name: "initialBalance", type: "Int", required: false }),
      ]),
    );
    // Internal commands (only sagas send them) have no mutation, so no form.
    expect(catalog.commands.map((c) => c.mutation)).not.toContain("receiveTransfer");
    expect(catalog.aggregates).toContain("Account");
    expect(catalog.processors).toContainEqual(expect.objectContaining({ id: "banking.TransferSaga", kind: "SAGA" }));
  });

  it("processors and dead letters need the admin role; an admin sees lag and discards a dead letter", async () => {
    const STATUS = "{ processors { id kind position eventsBehind deadLetters heldTenants } }";
    expect(codesOf((await query(STATUS, teller)).errors)).toEqual(["FORBIDDEN"]);
    expect(codesOf((await query("{ deadLetters { position } }", teller)).errors)).toEqual(["FORBIDDEN"]);
    const discard = `mutation($p: String!, $at: BigInt!) { discardDeadLetter(processor: $p, position: $at) }`;
    expect(codesOf((await query(discard, teller, { p: "banking.AccountView", at: "1" })).errors)).toEqual([
      "FORBIDDEN",
    ]);

    const { data } = await query(STATUS, admin);
    const view = (data!.processors as { id: string; kind: string }[]).find((p) => p.id === "banking.AccountView");
    expect(view).toMatchObject({ kind: "PROJECTION", deadLetters: 0, heldTenants: [] });

    await t.db.sql.query(
      `INSERT INTO dead_letters (processor_name, position, transaction_id, event_type, error, attempts)
       VALUES ('banking.AccountView', 1, 1, 'AccountOpened', 'boom', 5)`,
    );
    const parked = await query("{ deadLetters { processor position eventType error attempts } }", admin);
    expect(parked.data!.deadLetters).toEqual([
      { processor: "banking.AccountView", position: "1", eventType: "AccountOpened", error: "boom", attempts: 5 },
    ]);
    expect((await query(STATUS, admin)).data!.processors).toContainEqual(
      expect.objectContaining({ id: "banking.AccountView", deadLetters: 1 }),
    );
    expect((await query(discard, admin, { p: "banking.AccountView", at: "1" })).data).toEqual({
      discardDeadLetter: true,
    });
    expect((await query("{ deadLetters { position } }", admin)).data!.deadLetters).toEqual([]);
    expect(codesOf((await query(discard, admin, { p: "banking.AccountView", at: "1" })).errors)).toEqual([
      "DEAD_LETTER_NOT_FOUND",
    ]);
    const retry = `mutation($p: String!, $at: BigInt!) { retryDeadLetter(processor: $p, position: $at) }`;
    expect(codesOf((await query(retry, admin, { p: "nope.Nothing", at: "1" })).errors)).toEqual(["UNKNOWN_PROCESSOR"]);
  });
});
