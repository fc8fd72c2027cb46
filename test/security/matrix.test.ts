/**
 * The matrix of issue 13: every query, mutation and subscription of the schema — enumerated from
 * the schema itself, so a field added later is in it at once — against six callers: own tenant
 * (a role the field declares), another tenant (a header picking a tenant the credential does not
 * grant), no credential, an expired token, a wrong audience, and a missing role. On both engines
 * and both transports: HTTP (queries and mutations by POST, subscriptions over SSE) and graphql-ws.
 * Each gets its expected answer, and no refused call stores anything.
 *
 * On graphql-ws the credential and the tenant are checked at connection_init: a socket that
 * offers no, an expired or a wrongly addressed token is closed with 4401, one asking for an
 * ungranted tenant with 4403, before any operation of it runs. Each field's operation is sent
 * on such a socket right behind its connection_init, so the refusal is asserted per field.
 *
 * Catches (each a row of failures): the authenticate call or the tenant grant check
 * (src/graphql/plugins/auth-context.ts, src/auth/principal.ts), a field's `authScopes`, the
 * scope-auth plugin, a refusal that stores before it refuses.
 */
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isObjectType,
} from "graphql";
import { createClient as createSseClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Registry } from "../../src/core/registry.ts";
import { contexts } from "../../src/domains/index.ts";
import { buildSchema } from "../../src/graphql/schema.ts";
import { OpsQueries } from "../../src/store/ops-queries.ts";
import { CREATE_ACCOUNT, storedCounts, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";
import {
  AUTH_ENV,
  bearer,
  codesOf,
  connectWs,
  type FormattedError,
  runOnSocket,
  securityConfig,
  startSecureApp,
  subscribeOverSse,
  token,
} from "./support.ts";

type Kind = "query" | "mutation" | "subscription";
interface RootField {
  kind: Kind;
  name: string;
  /** Roles that pass the field's declared scopes; null: any credential of the tenant passes. */
  roles: string[] | null;
  document: string;
  variables: (own: { commandId: string }) => Record<string, unknown>;
}

const AUTH_ERRORS = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);

/** Sample values for required arguments, by argument name or input type. */
const SAMPLE_ARGS: Record<string, (own: { commandId: string }) => unknown> = {
  id: () => "matrix-acct",
  commandId: (own) => own.commandId,
  aggregate: () => "Account",
  projection: () => "banking.AccountView",
  customerId: () => "matrix-customer",
  text: () => "matrix",
  sku: () => "matrix-sku",
  processor: () => "banking.TransferSaga",
  position: () => "1",
};
const SAMPLE_INPUTS: Record<string, unknown> = {
  AddItemInput: { productId: "p", quantity: 1, unitPrice: 1 },
  CancelOrderInput: {},
  CreateAccountInput: { name: "matrix" },
  CreateOrderInput: { customerId: "matrix-customer" },
  DepositInput: { amount: 1 },
  FreezeAccountInput: {},
  PlaceHoldInput: { quantity: 1, sku: "matrix-sku" },
  PrepareTransferInput: { amount: 1, targetAccountId: "matrix-other", transferId: "matrix-t" },
  RegisterCustomerInput: { name: "matrix" },
  RegisterProductInput: { name: "matrix", price: 1 },
  RemoveItemInput: { productId: "p" },
  RenameCustomerInput: { name: "matrix" },
  RenameProductInput: { name: "matrix" },
  RepriceProductInput: { price: 1 },
  SetStockLevelInput: { onHand: 1 },
  ShipOrderInput: {},
  WithdrawInput: { amount: 1 },
};

function sampleFor(arg: GraphQLArgument): (own: { commandId: string }) => unknown {
  const byName = SAMPLE_ARGS[arg.name];
  if (byName) return byName;
  const input = SAMPLE_INPUTS[getNamedType(arg.type as GraphQLInputType).name];
  if (input) return () => input;
  throw new Error(`No sample for the argument ${arg.name}: ${arg.type}; add one to SAMPLE_ARGS or SAMPLE_INPUTS`);
}

/** The roles that pass a field's declared scopes (the declaration test in authorization.test.ts requires one). */
function rolesOf(field: GraphQLField<unknown, unknown>): string[] | null {
  const scopes = (field.extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;
  if (typeof scopes === "function") return null; // resultsOf: the tenant's own command, any role
  const declared = scopes as { anyRole?: string[]; admin?: boolean; member?: boolean };
  if (declared.member) return null;
  if (declared.anyRole?.length) return [declared.anyRole[0]!];
  if (declared.admin) return ["admin"];
  throw new Error(`${field.name}: unknown scopes ${JSON.stringify(scopes)}`);
}

/** One operation per root field, with its required arguments, selecting only __typename. */
function rootFields(schema: GraphQLSchema): RootField[] {
  const fields: RootField[] = [];
  const roots: [Kind, ReturnType<GraphQLSchema["getQueryType"]>][] = [
    ["query", schema.getQueryType()],
    ["mutation", schema.getMutationType()],
    ["subscription", schema.getSubscriptionType()],
  ];
  for (const [kind, type] of roots) {
    for (const field of Object.values(type?.getFields() ?? {}) as GraphQLField<unknown, unknown>[]) {
      const required = field.args.filter((a) => String(a.type).endsWith("!"));
      const samples = required.map((a) => [a.name, sampleFor(a)] as const);
      const declared = required.map((a) => `$${a.name}: ${a.type}`).join(", ");
      const passed = required.map((a) => `${a.name}: $${a.name}`).join(", ");
      const selection = isObjectType(getNamedType(field.type)) ? " { __typename }" : "";
      fields.push({
        kind,
        name: field.name,
        roles: rolesOf(field),
        document: `${kind}${declared ? `(${declared})` : ""} { ${field.name}${passed ? `(${passed})` : ""}${selection} }`,
        variables: (own) => Object.fromEntries(samples.map(([name, sample]) => [name, sample(own)])),
      });
    }
  }
  return fields;
}

const schema = buildSchema(new Registry(contexts, { snapshots: true }));
const FIELDS = rootFields(schema);

describe("the matrix covers the schema", () => {
  it("has one operation per root field of the schema, each of every kind present", () => {
    const expected = (["query", "mutation", "subscription"] as const).flatMap((kind) => {
      const type = {
        query: schema.getQueryType(),
        mutation: schema.getMutationType(),
        subscription: schema.getSubscriptionType(),
      }[kind];
      return Object.keys(type?.getFields() ?? {}).map((name) => `${kind} ${name}`);
    });
    expect(FIELDS.map((f) => `${f.kind} ${f.name}`)).toEqual(expected);
    expect(new Set(FIELDS.map((f) => f.kind))).toEqual(new Set(["query", "mutation", "subscription"]));
  });
});

describe.each(engines)("the access matrix over every root field, on %s", (engine) => {
  let testApp: TestApp;
  let own: { commandId: string };
  const credential = {
    ownFor: (roles: string[]) => token({ tenants: ["acme"], roles, subject: `matrix-${roles.join("-") || "none"}` }),
    missingRole: () => token({ tenants: ["acme"], roles: ["nobody"], subject: "matrix-nobody" }),
    expired: () => token({ tenants: ["acme"], roles: ["teller", "admin"], expiresIn: -120 }),
    wrongAudience: () => token({ tenants: ["acme"], roles: ["teller", "admin"], audience: "someone-else" }),
  };
  const ownRoles = (field: RootField) => field.roles ?? ["teller"];

  /**
   * What is stored once the own-tenant calls' consequences settled (sagas send commands after
   * the call answered): every runner at the head and the counts unchanged across that check.
   */
  async function settledCounts() {
    const runners = testApp.app.runners.runners.map((r) => r.step.id);
    let counts = await storedCounts(testApp);
    await waitUntil(
      "the runners at the head with nothing more stored",
      async () => {
        const lag = await new OpsQueries(testApp.db.sql).processorLag(runners);
        const again = await storedCounts(testApp);
        const quiet = lag.every((l) => l.eventsBehind === 0) && JSON.stringify(again) === JSON.stringify(counts);
        counts = again;
        return quiet;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    return counts;
  }

  beforeAll(async () => {
    // No rate limit in the way of a few hundred calls in a row.
    testApp = await startSecureApp(engine, securityConfig({ ...AUTH_ENV, RATE_LIMIT_PER_SECOND: "100000" }));
    const created = await testApp.post(
      {
        query: CREATE_ACCOUNT,
        variables: { name: "matrix", command: { aggregateId: "matrix-acct", waitFor: { stage: "PROCESSED" } } },
      },
      bearer(await credential.ownFor(["teller"])),
    );
    expect(created.json.errors).toBeUndefined();
    own = { commandId: (created.json.data!.createAccount as { commandId: string }).commandId };
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  /** An HTTP call (SSE for a subscription): the error codes it answered with, and the HTTP status. */
  async function overHttp(field: RootField, headers: Record<string, string>, untilFirst = false) {
    const variables = field.variables(own);
    if (field.kind !== "subscription") {
      const { status, json } = await testApp.post({ query: field.document, variables }, headers);
      return { status, codes: codesOf(json.errors) };
    }
    if (!untilFirst) return subscribeOverSse(testApp, field.document, variables, headers);
    // A stream that never ends by itself (commandsSent, recentCommandResults): its first event answers.
    const client = createSseClient({ url: testApp.url, singleConnection: false, retryAttempts: 0, headers });
    try {
      const iterator = client.iterate({ query: field.document, variables });
      const first = triggerUntil(() => iterator.next());
      const step = await first;
      if (!step.done) await iterator.return?.();
      return { codes: codesOf((step.value?.errors ?? []) as unknown as FormattedError[]) };
    } finally {
      client.dispose();
    }
  }

  /** Sends a command now and then until `settled` resolves: the subscription may start after the first. */
  async function triggerUntil<T>(settled: () => Promise<T>): Promise<T> {
    const teller = bearer(await credential.ownFor(["teller"]));
    let done = false;
    const result = settled().finally(() => {
      done = true;
    });
    await waitUntil(
      "the subscription's first event",
      async () => {
        if (!done) await testApp.post({ query: CREATE_ACCOUNT, variables: { name: "trigger" } }, teller);
        return done;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    return result;
  }

  const endless = (field: RootField) =>
    field.kind === "subscription" && (field.name === "commandsSent" || field.name === "recentCommandResults");

  describe("over HTTP (subscriptions over SSE)", () => {
    it("answers own tenant with the declared role, and refuses the five others; refusals store nothing", async () => {
      const failures: string[] = [];
      const check = (field: RootField, row: string, ok: boolean, detail: unknown) => {
        if (!ok) failures.push(`${field.kind} ${field.name}, ${row}: ${JSON.stringify(detail)}`);
      };
      const passes = (answer: { codes: unknown[] }) => !answer.codes.some((c) => AUTH_ERRORS.has(String(c)));
      for (const field of FIELDS) {
        const answer = await overHttp(field, bearer(await credential.ownFor(ownRoles(field))), endless(field));
        check(field, "own tenant", passes(answer), answer);
        // A field any credential of the tenant may call (`member`, a command's own results) has no
        // role to miss: it answers (asked here, since answering commandsSent means sending commands).
        if (!field.roles) {
          const missing = await overHttp(field, bearer(await credential.missingRole()), endless(field));
          check(field, "missing role (none needed)", passes(missing), missing);
        }
      }

      const before = await settledCounts();
      for (const field of FIELDS) {
        const other = await overHttp(field, {
          ...bearer(await credential.ownFor(ownRoles(field))),
          "x-tenant-id": "beta",
        });
        const status = (other as { status?: number }).status;
        check(
          field,
          "another tenant",
          field.kind === "subscription" ? status === 403 : other.codes.includes("FORBIDDEN"),
          other,
        );
        for (const [row, headers] of [
          ["no credential", {}],
          ["expired token", bearer(await credential.expired())],
          ["wrong audience", bearer(await credential.wrongAudience())],
        ] as const) {
          const refused = await overHttp(field, headers);
          // Over SSE the refusal is the stream's one event (graphql-sse's client reads only a 200 stream).
          // Over SSE the refusal is the HTTP answer to the stream's request: 401.
          const status = (refused as { status?: number }).status;
          const ok =
            field.kind === "subscription"
              ? status === 401
              : refused.codes.includes("UNAUTHENTICATED") && status === 401;
          check(field, row, ok, refused);
        }
        if (field.roles) {
          const missing = await overHttp(field, bearer(await credential.missingRole()));
          check(field, "missing role", missing.codes.includes("FORBIDDEN"), missing);
        }
      }
      expect(await storedCounts(testApp)).toEqual(before);
      expect(failures).toEqual([]);
    });
  });

  describe("over graphql-ws", () => {
    /**
     * Connects and sends connection_init: the close code it is refused with, or -1 when it was
     * acknowledged (then the field's operation is sent and answered, so the row shows it ran).
     */
    function refusedOnConnect(field: RootField, params: Record<string, unknown>): Promise<number> {
      return new Promise((resolve) => {
        const socket = new WebSocket(testApp.wsUrl, "graphql-transport-ws");
        socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: params })));
        socket.on("message", (raw) => {
          const message = JSON.parse(String(raw)) as { type: string };
          if (message.type === "connection_ack") {
            const payload = { query: field.document, variables: field.variables(own) };
            socket.send(JSON.stringify({ id: "1", type: "subscribe", payload }));
          } else {
            socket.close();
            resolve(-1);
          }
        });
        socket.once("close", (code) => resolve(code));
        socket.once("error", () => undefined);
      });
    }

    it("answers own tenant with the declared role, and refuses the five others; refusals store nothing", async () => {
      const failures: string[] = [];
      const sockets = new Map<string, WebSocket>();
      const socketFor = async (roles: string[], make: () => Promise<string>) => {
        const key = roles.join(",");
        if (!sockets.has(key)) {
          const connected = await connectWs(testApp.wsUrl, { authorization: `Bearer ${await make()}` });
          if (!connected.ack) throw new Error(`own socket refused: ${connected.closeCode}`);
          sockets.set(key, connected.socket);
        }
        return sockets.get(key)!;
      };
      const run = async (socket: WebSocket, field: RootField, untilFirst: boolean) => {
        if (!untilFirst) return runOnSocket(socket, field.document, field.variables(own));
        const id = `first-${Math.random().toString(36).slice(2)}`;
        const first = new Promise<{ codes: unknown[] }>((resolve) => {
          const onMessage = (raw: WebSocket.RawData) => {
            const message = JSON.parse(String(raw)) as { id?: string; type: string; payload?: unknown };
            if (message.id !== id) return;
            socket.off("message", onMessage);
            socket.send(JSON.stringify({ id, type: "complete" }));
            const errors =
              message.type === "error" ? message.payload : (message.payload as { errors?: unknown })?.errors;
            resolve({ codes: codesOf(errors as FormattedError[] | undefined) });
          };
          socket.on("message", onMessage);
        });
        socket.send(
          JSON.stringify({
            id,
            type: "subscribe",
            payload: { query: field.document, variables: field.variables(own) },
          }),
        );
        return triggerUntil(() => first);
      };
      try {
        for (const field of FIELDS) {
          const roles = ownRoles(field);
          const answer = await run(await socketFor(roles, () => credential.ownFor(roles)), field, endless(field));
          if (answer.codes.some((c) => AUTH_ERRORS.has(String(c))))
            failures.push(`${field.kind} ${field.name}, own tenant: ${JSON.stringify(answer.codes)}`);
          if (!field.roles) {
            // No role to miss (see the HTTP test): it answers.
            const missing = await run(await socketFor(["nobody"], credential.missingRole), field, endless(field));
            if (missing.codes.some((c) => AUTH_ERRORS.has(String(c))))
              failures.push(
                `${field.kind} ${field.name}, missing role (none needed): ${JSON.stringify(missing.codes)}`,
              );
          }
        }

        const before = await settledCounts();
        const nobody = await socketFor(["nobody"], credential.missingRole);
        for (const field of FIELDS) {
          const rows: [string, Record<string, unknown>, number][] = [
            [
              "another tenant",
              { authorization: `Bearer ${await credential.ownFor(ownRoles(field))}`, tenantId: "beta" },
              4403,
            ],
            ["no credential", {}, 4401],
            ["expired token", { authorization: `Bearer ${await credential.expired()}` }, 4401],
            ["wrong audience", { authorization: `Bearer ${await credential.wrongAudience()}` }, 4401],
          ];
          for (const [row, params, code] of rows) {
            const closed = await refusedOnConnect(field, params);
            if (closed !== code)
              failures.push(`${field.kind} ${field.name}, ${row}: closed ${closed}, expected ${code}`);
          }
          if (field.roles) {
            const missing = await run(nobody, field, false);
            if (!missing.codes.includes("FORBIDDEN"))
              failures.push(`${field.kind} ${field.name}, missing role: ${JSON.stringify(missing.codes)}`);
          }
        }
        expect(await storedCounts(testApp)).toEqual(before);
        expect(failures).toEqual([]);
      } finally {
        for (const socket of sockets.values()) socket.close();
      }
    });
  });
});
