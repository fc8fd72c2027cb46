/**
 * Every argument of every query and mutation, fuzzed: the operations and their values are
 * generated from the GraphQL schema itself (root fields, their arguments, input objects, lists,
 * enums and scalars), so a field a bounded context adds is covered without editing this file.
 * Values are arbitrary (any UTF-16, any 32-bit Int, any double, any JSON) mixed with nasty ones
 * (NUL, lone surrogates, huge positions, times at the ends of JavaScript's range, forged cursors,
 * keys every object inherits, IDs that exist) and, now and then, a value of the wrong type.
 *
 * Each call selects every field of its result a few levels down, so resolvers really read rows
 * and cursors. Properties: no answer is a 5xx, no error is INTERNAL_SERVER_ERROR or lacks a
 * code, and a refused call (any error, or a 4xx) stores nothing — the events and commands
 * tables have as many rows after it as before.
 *
 * Catches: removing guardArguments (src/graphql/input-guard.ts) fails it within a few runs (a
 * position past 64 bits, a NUL or a lone surrogate reaches SQL). Rarer combinations (a forged
 * history cursor on an aggregate type that exists) are pinned in bad-input.test.ts instead.
 */
import fc from "fast-check";
import {
  type GraphQLArgument,
  GraphQLEnumType,
  type GraphQLField,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLList,
  type GraphQLNamedType,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, storedCounts, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

/**
 * Calls per root field and engine: more for fields with more arguments (each argument gets its
 * share of nasty values). About 1,000 calls, 20 to 30 s per engine.
 */
const runsFor = (field: GraphQLField<unknown, unknown>) => 10 + 10 * field.args.length;

const base64 = (text: string) => Buffer.from(text).toString("base64");
const base64url = (text: string) => Buffer.from(text).toString("base64url");

/** Cursors: the shapes Pothos' Prisma plugin and the history API hand out, forged and broken. */
const NASTY_CURSORS = [
  ...[
    "GPC:S:x",
    "GPC:S:ada",
    "GPC:S:A:ada",
    "GPC:S:\u0000",
    "GPC:N:1e400",
    "GPC:N:NaN",
    "GPC:I:99999999999999999999999",
    "GPC:D:-8640000000000001",
    "GPC:D:x",
    'GPC:T:["S:x"]',
    'GPC:T:["S:x","D:0"]',
    'GPC:T:["D:0","S:x"]',
    'GPC:T:["N:1","S:\\u0000"]',
    "GPC:T:[1,2]",
    "GPC:T:{",
    'GPC:O:{"a":1}',
    "GPC:Z:",
    "GPC:",
  ].flatMap((c) => [base64(c), base64url(c)]),
  ...["v1:3000000000", "v1:2147483647", "v1:-1", "v1:1", "v1:0", "v1:1e3", "v1:"].map(base64url),
  "not-a-cursor",
  "====",
];

/** Strings that have broken, or could break, something on their way to SQL. */
const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00",
  "\ud83d\ude00",
  "\uFFFD",
  "x".repeat(300),
  "'; DROP TABLE events; --",
  "%",
  "_",
  "\\",
  "toString",
  "__proto__",
  "constructor",
  "Account",
  "Order",
  "AccountView",
  "banking.AccountView",
  "default",
  "ada",
  "ada:x",
  "00000000-0000-0000-0000-000000000000",
];

/**
 * Forged cursors built like real ones: a namespace, a tagged chunk of Pothos' encoding (or a
 * tuple of them) with an arbitrary payload, mostly in the namespace's own encoding (Pothos:
 * padded base64; ours: base64url), sometimes in the other.
 */
const NAMESPACES = { "GPC:": "base64", "v1:": "base64url", "order:": "base64url", "": "base64" } as const;
const forgedCursor = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constant("GPC:" as const) },
      { weight: 1, arbitrary: fc.constantFrom("v1:" as const, "order:" as const, "" as const) },
    ),
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            fc.constantFrom("S:", "N:", "I:", "D:", "O:", "Z:", "B:", "M:", "X:"),
            fc.oneof(fc.string(), fc.integer().map(String), fc.constant("\u0000")),
          )
          .map(([tag, payload]) => tag + payload),
      },
      {
        weight: 2,
        arbitrary: fc
          .array(fc.oneof(fc.constantFrom("S:x", "S:ada", "D:0", "N:1", "I:1", "Z:"), fc.string()), { maxLength: 3 })
          .map((parts) => `T:${JSON.stringify(parts)}`),
      },
      fc.integer().map(String),
      fc.string(),
    ),
    fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  )
  .map(([namespace, chunk, own]) => {
    const encoding = NAMESPACES[namespace];
    return Buffer.from(namespace + chunk).toString(own ? encoding : encoding === "base64" ? "base64url" : "base64");
  });

/** Any UTF-16 code unit: NUL, control characters and unpaired surrogates included. */
const anyString = fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 40 });

const INT = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 120 }) },
  fc.constantFrom(0, 1, -1, 100, 101, 300_000, 300_001, 2 ** 31 - 1, -(2 ** 31)),
);

const BIGINT = fc.oneof(
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.bigInt({ min: 0n, max: 50n }).map(String),
  fc.constantFrom("99999999999999999999999", "9223372036854775807", "9223372036854775808", "-1", "abc", "1e3", " 1"),
);

const DATE_TIME = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    "-271821-04-20T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "2024-02-30T00:00:00Z",
    "yesterday",
    "",
  ),
);

/** A wrong-typed value now and then: the server must refuse it with a 4xx or a typed error. */
const WRONG_TYPE = fc.oneof(fc.jsonValue(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant({}));

/**
 * A value for an input type. Argument or field names saying *timeout* get short waits (this
 * app runs no runners, so a wait for a later stage lasts its whole timeout): the one way a
 * generated call could take minutes.
 */
function valueFor(
  type: GraphQLInputType,
  name: string,
  strings: fc.Arbitrary<string>,
  required = false,
): fc.Arbitrary<unknown> {
  if (type instanceof GraphQLNonNull) return valueFor(type.ofType, name, strings, true);
  const nullable = (arbitrary: fc.Arbitrary<unknown>) =>
    required ? arbitrary : fc.oneof({ weight: 6, arbitrary }, { weight: 1, arbitrary: fc.constant(null) });
  if (type instanceof GraphQLList) return nullable(fc.array(valueFor(type.ofType, name, strings), { maxLength: 3 }));
  if (type instanceof GraphQLEnumType) return nullable(fc.constantFrom(...type.getValues().map((v) => v.name)));
  if (type instanceof GraphQLInputObjectType) {
    const fields = Object.values(type.getFields());
    return nullable(
      fieldsOf(fields.map((f) => [f.name, fieldValue(f.type, f.name, strings), f.type instanceof GraphQLNonNull])),
    );
  }
  if (!(type instanceof GraphQLScalarType)) throw new Error(`No generator for ${String(type)}`);
  if (/timeout/i.test(name) && type.name === "Int") return nullable(fc.integer({ min: -5, max: 50 }));
  switch (type.name) {
    case "Int":
      return nullable(INT);
    case "Float":
      return nullable(fc.double({ noNaN: true, noDefaultInfinity: true }));
    case "Boolean":
      return nullable(fc.boolean());
    case "BigInt":
      return nullable(BIGINT);
    case "DateTime":
      return nullable(DATE_TIME);
    case "JSON":
      return nullable(fc.jsonValue());
    default:
      // String, ID and any scalar a context adds.
      return nullable(strings);
  }
}

/** Mostly a value of the field's type, sometimes one of another type. */
const fieldValue = (type: GraphQLInputType, name: string, strings: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 30, arbitrary: valueFor(type, name, strings) }, { weight: 1, arbitrary: WRONG_TYPE });

/** An optional argument or input field is left out half the time, so calls get past it. */
const optional = (arbitrary: fc.Arbitrary<unknown>) => fc.oneof(fc.constant(undefined), arbitrary);

/** An object of these values; the absent ones left out (JSON drops undefined). */
const fieldsOf = (entries: [name: string, value: fc.Arbitrary<unknown>, required: boolean, often?: boolean][]) =>
  fc
    .tuple(
      ...entries.map(([, arbitrary, required, often]) =>
        required ? arbitrary : often ? fc.oneof(fc.constant(undefined), arbitrary) : optional(arbitrary),
      ),
    )
    .map((values) => Object.fromEntries(entries.map(([name], i) => [name, values[i]])));

/**
 * Every field of the result, a few levels down, so the resolvers really run (a connection
 * selected with `__typename` alone never reads its rows, nor its cursor).
 */
function selectionOf(type: GraphQLNamedType, depth: number): string {
  if (!(type instanceof GraphQLObjectType)) return isCompositeType(type) ? " { __typename }" : "";
  const fields = Object.values(type.getFields()).filter((f) => !f.args.some((a) => a.type instanceof GraphQLNonNull));
  const selected = fields.flatMap((f) => {
    const inner = getNamedType(f.type);
    if (!isCompositeType(inner)) return [f.name];
    return depth < 4 ? [`${f.name}${selectionOf(inner, depth + 1)}`] : [];
  });
  return ` { ${selected.length > 0 ? selected.join(" ") : "__typename"} }`;
}

/** The operation calling `field` with each argument as a variable, and a generator of variables. */
function operationFor(
  kind: "query" | "mutation",
  field: GraphQLField<unknown, unknown>,
  strings: fc.Arbitrary<string>,
  cursors: fc.Arbitrary<string>,
): { document: string; variables: fc.Arbitrary<Record<string, unknown>> } {
  const declare = (a: GraphQLArgument) => `$${a.name}: ${String(a.type)}`;
  const pass = (a: GraphQLArgument) => `${a.name}: $${a.name}`;
  const selection = selectionOf(getNamedType(field.type), 1);
  const args = field.args;
  const document =
    args.length === 0
      ? `${kind} { ${field.name}${selection} }`
      : `${kind} Fuzz(${args.map(declare).join(", ")}) { ${field.name}(${args.map(pass).join(", ")})${selection} }`;
  // Relay's cursor arguments (`after`, `before` of a connection) get cursors, and half the time.
  const returnType = getNamedType(field.type);
  const connection = returnType instanceof GraphQLObjectType && "pageInfo" in returnType.getFields();
  const isCursor = (a: GraphQLArgument) => connection && (a.name === "after" || a.name === "before");
  const variables = fieldsOf(
    args.map((a) => [
      a.name,
      fieldValue(a.type, a.name, isCursor(a) ? cursors : strings),
      a.type instanceof GraphQLNonNull,
      isCursor(a),
    ]),
  );
  return { document, variables };
}

/** Sends one command and waits (its own generous timeout) until the read models have it. */
async function seed(testApp: TestApp, field: string, input: unknown, aggregateId: string): Promise<string> {
  const inputType = `${field.charAt(0).toUpperCase()}${field.slice(1)}Input!`;
  const { json } = await testApp.post({
    query: `mutation S($input: ${inputType}, $command: CommandOptions) {
      ${field}(input: $input, command: $command) { commandId succeeded errorCode }
    }`,
    variables: { input, command: { aggregateId, waitFor: { stage: "PROJECTED", timeoutMs: 30_000 } } },
  });
  const result = json.data?.[field] as { commandId: string; succeeded: boolean } | undefined;
  expect(result, JSON.stringify(json)).toMatchObject({ succeeded: true });
  return result!.commandId;
}

/**
 * Real cursors of the seeded rows (tenant "default"; the fuzz also sends them from another
 * tenant): each connection of the Query type, called with "ada" for its required arguments.
 */
async function cursorsOf(testApp: TestApp): Promise<string[]> {
  const schema: GraphQLSchema = testApp.app.server.yoga.getEnveloped({}).schema;
  const cursors: string[] = [];
  for (const field of Object.values(schema.getQueryType()!.getFields())) {
    const type = getNamedType(field.type);
    if (!(type instanceof GraphQLObjectType) || !type.getFields().pageInfo) continue;
    const required = field.args.filter((a) => a.type instanceof GraphQLNonNull);
    const args = required.map((a) => `${a.name}: "ada"`).join(", ");
    const { json } = await testApp.post({
      query: `{ ${field.name}${args ? `(${args})` : ""} { edges { cursor } } }`,
    });
    const edges = (json.data?.[field.name] as { edges: { cursor: string }[] } | undefined)?.edges ?? [];
    cursors.push(...edges.map((e) => e.cursor));
  }
  return cursors;
}

describe.each(engines)("every argument of every query and mutation, fuzzed, on %s", (engine) => {
  let testApp: TestApp;
  let known: string[];

  beforeAll(async () => {
    // No command worker: nothing is written in the background, so the row counts around a call
    // are that call's alone. Short waits keep calls that wait for a later stage short.
    testApp = await startTestApp(engine, { waitTimeoutMs: 50, readYourWritesTimeoutMs: 50 }, undefined, {
      workers: false,
    });
    // Rows to find and page through, with the runners on until the read models have them.
    testApp.app.runners.start();
    const seeded = [
      await seed(testApp, "createAccount", { name: "Ada", initialBalance: 100 }, "ada"),
      await seed(testApp, "registerCustomer", { name: "Ada Lovelace" }, "ada"),
      await seed(testApp, "registerProduct", { name: "Lamp", price: 1500 }, "lamp"),
      await seed(
        testApp,
        "createOrder",
        { customerId: "ada", items: [{ productId: "lamp", quantity: 1, unitPrice: 1500 }] },
        "order-1",
      ),
    ];
    await testApp.app.runners.stop();
    // Names the API knows (aggregates, processors, contexts), so calls get past "unknown".
    const { registry } = testApp.app;
    const names = registry.contexts.flatMap((c) => [
      c.name,
      ...c.aggregates.map((a) => a.name),
      ...(c.processors ?? []).map((p) => p.name),
    ]);
    known = [...seeded, "ada", "lamp", "order-1", ...names, ...registry.processors.map((p) => p.id)];
    known.push(...(await cursorsOf(testApp)));
  });
  afterAll(async () => {
    await testApp?.stop();
  });

  it("no 5xx, no INTERNAL_SERVER_ERROR, every error coded, nothing stored for a refused call", async () => {
    const schema: GraphQLSchema = testApp.app.server.yoga.getEnveloped({}).schema;
    const strings = fc.oneof(
      { weight: 2, arbitrary: anyString },
      { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
      { weight: 1, arbitrary: fc.constantFrom(...NASTY_CURSORS) },
      { weight: 2, arbitrary: forgedCursor },
      { weight: 2, arbitrary: fc.constantFrom(...known) },
      { weight: 1, arbitrary: fc.uuid() },
    );
    const cursors = fc.oneof(
      { weight: 4, arbitrary: forgedCursor },
      { weight: 2, arbitrary: fc.constantFrom(...NASTY_CURSORS, ...known) },
      { weight: 1, arbitrary: strings },
    );
    const roots: ["query" | "mutation", GraphQLObjectType | null | undefined][] = [
      ["query", schema.getQueryType()],
      ["mutation", schema.getMutationType()],
    ];
    let calls = 0;
    for (const [kind, root] of roots) {
      for (const field of Object.values(root?.getFields() ?? {})) {
        const { document, variables } = operationFor(kind, field, strings, cursors);
        const tenant = fc.constantFrom("default", "other-tenant");
        await fc.assert(
          fc.asyncProperty(variables, tenant, async (vars, tenantId) => {
            calls++;
            const before = await storedCounts(testApp);
            const { status, json } = await testApp.post(
              { query: document, variables: vars },
              { "x-tenant-id": tenantId },
            );
            const codes = (json.errors ?? []).map((e) => e.extensions?.code);
            const call = `${kind} ${field.name} ${JSON.stringify(vars)} (tenant ${tenantId})`;
            expect(status, call).toBeLessThan(500);
            expect(codes, `${call}: ${JSON.stringify(json.errors)}`).not.toContain("INTERNAL_SERVER_ERROR");
            for (const code of codes) expect(code, call).toMatch(/^[A-Z_]+$/);
            // The document is generated from the schema: it must always be valid and within the limits.
            expect(codes, `${document}: ${JSON.stringify(json.errors)}`).not.toContainEqual(
              expect.stringMatching(/^(GRAPHQL_VALIDATION_FAILED|GRAPHQL_PARSE_FAILED|QUERY_TOO_.*|TOO_MANY_.*)$/),
            );
            if (status !== 200 || codes.length > 0) expect(await storedCounts(testApp), call).toEqual(before);
          }),
          { numRuns: runsFor(field) },
        );
      }
    }
    // The schema was walked: every root field was called (a broken walk would pass vacuously).
    const fields = roots.flatMap(([, root]) => Object.values(root?.getFields() ?? {}));
    expect(fields.length).toBeGreaterThan(30);
    expect(calls).toBe(fields.reduce((n, field) => n + runsFor(field), 0));
  }, 120_000);
});
