/**
 * Authorization declared with the definitions (issue 13, item 3): each command's `roles`, each
 * read model's and query's readers, the admin scope on operational fields, a command's results
 * within its tenant (and, with AUTH_RESULTS_SENDER_ONLY, its sender only), and the sender's
 * subject in the aggregate history. Both engines; HTTP and graphql-ws. A refused call answers
 * FORBIDDEN and stores nothing.
 *
 * Catches (each verified by removing it):
 * - ScopeAuthPlugin in src/graphql/builder.ts: every FORBIDDEN row below runs instead;
 * - the `authScopes` line of the command mutations (src/graphql/command-api.ts): the auditor's
 *   and the teller's refused commands are stored;
 * - the sender comparison in scopesFor (src/auth/scopes.ts): another subject reads the results;
 * - the `roles` of a command or a query's `authScopes`: the "declares who may call it" test.
 */
import type { GraphQLField } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../src/core/registry.ts";
import { contexts } from "../../src/domains/index.ts";
import { buildSchema } from "../../src/graphql/schema.ts";
import { CREATE_ACCOUNT, storedCounts, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { AUTH_ENV, bearer, codesOf, connectWs, runOnSocket, securityConfig, startSecureApp, token } from "./support.ts";

const DEPOSIT = `mutation Deposit($id: ID!) {
  deposit(input: { amount: 5 }, command: { aggregateId: $id, waitFor: { stage: PROCESSED } }) { stage succeeded }
}`;
const FREEZE = `mutation Freeze($id: ID!) {
  freezeAccount(input: { reason: "audit" }, command: { aggregateId: $id, waitFor: { stage: PROCESSED } }) { succeeded }
}`;
const ACCOUNT_STATE = "query State($id: ID!) { accountState(id: $id) { id balance } }";
const HISTORY = `query History($id: ID!) {
  aggregateHistory(aggregate: "Account", id: $id) { edges { node { type command { sentBy } } } }
}`;
const RESULTS = "query Results($id: ID!) { commandResults(commandId: $id) { stage } }";
const WATCH = `subscription Watch($id: ID!) { commandResults(commandId: $id, until: { stage: PROCESSED }) { stage } }`;

describe("every root field declares who may call it", () => {
  it("each query, mutation and subscription has authScopes; each client command declares its roles", () => {
    const registry = new Registry(contexts, { snapshots: true });
    const schema = buildSchema(registry);
    const undeclared: string[] = [];
    for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values(type?.getFields() ?? {}) as GraphQLField<unknown, unknown>[]) {
        const options = field.extensions?.pothosOptions as { authScopes?: unknown } | undefined;
        if (!options?.authScopes) undeclared.push(`${type!.name}.${field.name}`);
      }
    }
    // Operational fields added without a declaration would be open to every tenant's credential.
    expect(undeclared, "add authScopes (admin: true for operational fields)").toEqual([]);
    const withoutRoles = registry.commands.filter((c) => !c.spec.internal && !c.spec.roles).map((c) => c.type);
    expect(withoutRoles).toEqual([]);
  });
});

describe.each(engines)("authorization declared with the definitions, on %s", (engine) => {
  let testApp: TestApp;
  let senderOnlyApp: TestApp;
  const as = async (roles: string[], subject = "tester") => bearer(await token({ tenants: ["acme"], roles, subject }));

  beforeAll(async () => {
    testApp = await startSecureApp(engine);
    senderOnlyApp = await startSecureApp(engine, securityConfig({ ...AUTH_ENV, AUTH_RESULTS_SENDER_ONLY: "true" }));
  });
  afterAll(async () => {
    await testApp?.stop();
    await senderOnlyApp?.stop();
  });

  const createAccount = (app: TestApp, headers: Record<string, string>, id: string) =>
    app.post(
      { query: CREATE_ACCOUNT, variables: { name: id, command: { aggregateId: id, waitFor: { stage: "PROCESSED" } } } },
      headers,
    );

  it("sends a command only with one of its roles; a refusal is FORBIDDEN and stores nothing", async () => {
    const teller = await as(["teller"], "alice");
    expect((await createAccount(testApp, teller, "roles-1")).json.errors).toBeUndefined();

    const before = await storedCounts(testApp);
    const refusals: [Record<string, string>, string, string][] = [
      [await as(["auditor"]), CREATE_ACCOUNT, "roles-2"],
      [await as([]), DEPOSIT, "roles-1"],
      [teller, FREEZE, "roles-1"], // freezing needs the supervisor role
      [await as(["admin"]), DEPOSIT, "roles-1"], // admin is operational, not a business role
    ];
    for (const [headers, query, id] of refusals) {
      const variables = query === CREATE_ACCOUNT ? { name: id, command: { aggregateId: id } } : { id };
      const { json } = await testApp.post({ query, variables }, headers);
      expect(codesOf(json.errors), query).toEqual(["FORBIDDEN"]);
    }
    expect(await storedCounts(testApp)).toEqual(before);

    const supervisor = await as(["supervisor"]);
    const frozen = await testApp.post({ query: FREEZE, variables: { id: "roles-1" } }, supervisor);
    expect(frozen.json.data?.freezeAccount).toMatchObject({ succeeded: true });
  });

  it("reads a read model only with a reader's role; history needs auditor or admin and shows the sender", async () => {
    await createAccount(testApp, await as(["teller"], "alice"), "reads-1");
    const variables = { id: "reads-1" };

    for (const roles of [["teller"], ["auditor"]]) {
      const { json } = await testApp.post({ query: ACCOUNT_STATE, variables }, await as(roles));
      expect(json.errors, roles.join()).toBeUndefined();
      expect(json.data?.accountState).toMatchObject({ id: "reads-1" });
    }
    const none = await testApp.post({ query: ACCOUNT_STATE, variables }, await as(["clerk"]));
    expect(codesOf(none.json.errors)).toEqual(["FORBIDDEN"]);
    expect(none.json.data?.accountState ?? null).toBeNull();

    const teller = await testApp.post({ query: HISTORY, variables }, await as(["teller"]));
    expect(codesOf(teller.json.errors)).toEqual(["FORBIDDEN"]);
    const auditor = await testApp.post({ query: HISTORY, variables }, await as(["auditor"]));
    expect(auditor.json.errors).toBeUndefined();
    const edges = (auditor.json.data!.aggregateHistory as { edges: { node: unknown }[] }).edges;
    expect(edges.map((e) => e.node)).toEqual([{ type: "AccountCreated", command: { sentBy: "alice" } }]);
  });

  it("refuses an operation on graphql-ws with FORBIDDEN and keeps the socket", async () => {
    const auditor = await token({ tenants: ["acme"], roles: ["auditor"] });
    const connected = await connectWs(testApp.wsUrl, { authorization: `Bearer ${auditor}` });
    if (!connected.ack) throw new Error(`refused: ${connected.closeCode}`);
    try {
      const before = await storedCounts(testApp);
      const refused = await runOnSocket(connected.socket, CREATE_ACCOUNT, {
        name: "ws",
        command: { aggregateId: "ws" },
      });
      expect(refused.codes).toEqual(["FORBIDDEN"]);
      expect(await storedCounts(testApp)).toEqual(before);
      const read = await runOnSocket(connected.socket, ACCOUNT_STATE, { id: "ws" });
      expect(read.codes).toEqual([]);
    } finally {
      connected.socket.close();
    }
  });

  it("shows a command's results within its tenant to anyone by default, to its sender only when configured", async () => {
    const sent = await createAccount(testApp, await as(["teller"], "alice"), "results-1");
    const id = (sent.json.data!.createAccount as { commandId: string }).commandId;
    const bob = await testApp.post({ query: RESULTS, variables: { id } }, await as(["teller"], "bob"));
    expect(bob.json.errors).toBeUndefined();
    const otherTenant = bearer(await token({ tenants: ["beta"], roles: ["teller"], subject: "alice" }));
    const beta = await testApp.post({ query: RESULTS, variables: { id } }, otherTenant);
    expect(codesOf(beta.json.errors)).toEqual(["COMMAND_NOT_FOUND"]);

    const own = await createAccount(senderOnlyApp, await as(["teller"], "alice"), "results-2");
    const ownId = (own.json.data!.createAccount as { commandId: string }).commandId;
    const alice = await senderOnlyApp.post({ query: RESULTS, variables: { id: ownId } }, await as(["teller"], "alice"));
    expect(alice.json.errors).toBeUndefined();
    expect((alice.json.data!.commandResults as unknown[]).length).toBeGreaterThan(0);
    const refused = await senderOnlyApp.post({ query: RESULTS, variables: { id: ownId } }, await as(["teller"], "bob"));
    expect(codesOf(refused.json.errors)).toEqual(["FORBIDDEN"]);

    const bobToken = await token({ tenants: ["acme"], roles: ["teller"], subject: "bob" });
    const connected = await connectWs(senderOnlyApp.wsUrl, { authorization: `Bearer ${bobToken}` });
    if (!connected.ack) throw new Error("refused");
    try {
      expect((await runOnSocket(connected.socket, WATCH, { id: ownId })).codes).toEqual(["FORBIDDEN"]);
    } finally {
      connected.socket.close();
    }
  });
});
