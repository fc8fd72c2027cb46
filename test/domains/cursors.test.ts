/**
 * Cursors are bound to the tenant and the connection that handed them out, on both engines.
 * From tenant B, `accounts(after: base64("GPC:S:A:ada"))` used to answer rows when account `ada`
 * existed in tenant A and none when it did not (Prisma looked the cursor's row up, in any
 * tenant); the same held for `products` and `ordersByCustomer`, and a cursor of the wrong type
 * on `ordersByCustomer` (and a history cursor `v1:3000000000`) answered INTERNAL_SERVER_ERROR.
 * Now every cursor not handed out to this tenant for this field gets INVALID_CURSOR, the same
 * answer whatever is wrong with it, and stores nothing — on the read-model connections and on
 * `aggregateHistory` alike (one codec, src/core/cursor.ts).
 *
 * Catches: cursors that do not bind the tenant (src/core/cursor.ts encoding no tenant and
 * decoding without comparing it) — checked: tenant A's real cursors then page in tenant B, and
 * the "another tenant's cursor" and "forged" cases fail.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, storedCounts, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const runner = { batchSize: 100, pollMs: 20, maxAttempts: 2, onPoison: "dead-letter" as const };
const b64 = (text: string) => Buffer.from(text).toString("base64url");

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** Each connection, as a query with `$after` / `$before` cursors. */
const CONNECTIONS = {
  accounts: `query($first: Int, $last: Int, $after: String, $before: String) {
    page: accounts(first: $first, last: $last, after: $after, before: $before) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
  products: `query($first: Int, $last: Int, $after: String, $before: String) {
    page: products(first: $first, last: $last, after: $after, before: $before) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
  ordersByCustomer: `query($first: Int, $last: Int, $after: String, $before: String) {
    page: ordersByCustomer(customerId: "ada", first: $first, last: $last, after: $after, before: $before) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
  searchOrders: `query($first: Int, $last: Int, $after: String, $before: String) {
    page: searchOrders(text: "ada", first: $first, last: $last, after: $after, before: $before) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
  aggregateHistory: `query($first: Int, $last: Int, $after: String, $before: String) {
    page: aggregateHistory(aggregate: "Account", id: "ada", first: $first, last: $last, after: $after, before: $before) {
      edges { cursor node { id: version } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
} as const;
type ConnectionName = keyof typeof CONNECTIONS;
const NAMES = Object.keys(CONNECTIONS) as ConnectionName[];

describe.each(engines)("cursors on %s", (engine) => {
  let t: TestApp;
  const send = (tenant: string, query: string, variables: Record<string, unknown> = {}) =>
    t.post({ query, variables }, { "x-tenant-id": tenant });

  async function command(tenant: string, field: string, input: string, aggregateId: string) {
    const { json } = await send(
      tenant,
      `mutation($id: ID) { ${field}(input: ${input}, command: { aggregateId: $id, waitFor: { stage: PROJECTED } }) { succeeded errorCode } }`,
      { id: aggregateId },
    );
    expect(json.errors).toBeUndefined();
    expect(json.data?.[field]).toMatchObject({ succeeded: true });
  }

  const page = async (tenant: string, name: ConnectionName, variables: Record<string, unknown>) => {
    const { json } = await send(tenant, CONNECTIONS[name], variables);
    expect(json.errors).toBeUndefined();
    return (json.data as { page: Page }).page;
  };
  const refused = async (tenant: string, name: ConnectionName, variables: Record<string, unknown>) => {
    const { status, json } = await send(tenant, CONNECTIONS[name], variables);
    expect(status).toBe(200);
    expect(json.data ?? null).toBeNull();
    expect(json.errors?.map((e) => e.extensions?.code)).toEqual(["INVALID_CURSOR"]);
    return json.errors![0]!.message;
  };

  beforeAll(async () => {
    t = await startTestApp(engine, { runner });
    // The same IDs in both tenants, so that positions and keys of one are plausible in the other.
    for (const tenant of ["A", "B"]) {
      for (const id of ["ada", "bob", "cy", "dee"]) await command(tenant, "createAccount", `{ name: "${id}" }`, id);
      for (const amount of [1, 2, 3]) await command(tenant, "deposit", `{ amount: ${amount} }`, "ada");
      for (const id of ["lamp", "desk", "pen", "cup"])
        await command(tenant, "registerProduct", `{ name: "${id}", price: 5 }`, id);
      await command(tenant, "registerCustomer", '{ name: "Ada" }', "ada");
      for (const id of ["o1", "o2", "o3", "o4"])
        await command(tenant, "createOrder", '{ customerId: "ada" }', `${tenant}-${id}`);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(NAMES)("%s: a tenant's own cursors page forwards and backwards", async (name) => {
    const all = (await page("B", name, { first: 100 })).edges.map((e) => e.node.id);
    expect(all.length).toBe(4);
    const first = await page("B", name, { first: 2 });
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const rest = await page("B", name, { first: 100, after: first.pageInfo.endCursor });
    expect([...first.edges, ...rest.edges].map((e) => e.node.id)).toEqual(all);
    const back = await page("B", name, { last: 2, before: rest.pageInfo.endCursor });
    expect(back.edges.map((e) => e.node.id)).toEqual(all.slice(-3, -1));
    expect(back.pageInfo.hasPreviousPage).toBe(true);
    // An empty page hands out no cursor.
    const end = await page("B", name, { first: 5, after: rest.pageInfo.endCursor });
    expect(end).toMatchObject({ edges: [], pageInfo: { startCursor: null, endCursor: null, hasNextPage: false } });
  });

  it.each(NAMES)("%s: another tenant's cursor is INVALID_CURSOR", async (name) => {
    const before = await storedCounts(t);
    const fromA = await page("A", name, { first: 1 });
    const cursor = fromA.pageInfo.endCursor!;
    await refused("B", name, { after: cursor });
    await refused("B", name, { last: 1, before: cursor });
    // …while tenant A may use it.
    expect((await page("A", name, { first: 1, after: cursor })).edges).toHaveLength(1);
    expect(await storedCounts(t)).toEqual(before);
  });

  it("the Prisma plugin's old cursors say nothing about another tenant's rows", async () => {
    // ada exists in tenant A, nobody does not: the answers must not differ.
    for (const name of ["accounts", "products"] as const) {
      const exists = await refused("B", name, { after: b64(`GPC:S:A:${name === "accounts" ? "ada" : "lamp"}`) });
      const missing = await refused("B", name, { after: b64("GPC:S:A:nobody") });
      expect(exists.replace(/"[^"]*"/, "")).toBe(missing.replace(/"[^"]*"/, ""));
    }
    await refused("B", "ordersByCustomer", { after: b64("GPC:BI:1") });
  });

  it.each(NAMES)("%s: forged and malformed cursors are INVALID_CURSOR and store nothing", async (name) => {
    const before = await storedCounts(t);
    const own = (await page("B", name, { first: 1 })).pageInfo.endCursor!;
    const [, , value] = JSON.parse(Buffer.from(own, "base64url").toString()) as [string, string, string];
    const other = name === "accounts" ? "products" : "accounts";
    const forged = [
      b64("GPC:S:x"), // the malformed cursor (it answered INTERNAL_SERVER_ERROR on ordersByCustomer)
      "not-a-cursor",
      "",
      "%%%",
      own.slice(0, -2),
      `${own}=`,
      b64("[1,2,3]"),
      b64(JSON.stringify([name, "B"])),
      b64(JSON.stringify([name, "A", value])), // another tenant, forged
      b64(JSON.stringify([other, "B", value])), // another connection's
      b64(JSON.stringify([name, "B", "\u0000"])), // text the database cannot hold
      b64(JSON.stringify([name, "B", "\ud800"])),
      b64(JSON.stringify([name, "B", 42])),
      "A".repeat(5000),
    ];
    if (name !== "accounts" && name !== "products") {
      forged.push(
        b64("v1:3000000000"), // the history API's old cursors (this one answered INTERNAL_SERVER_ERROR)
        b64(JSON.stringify([name, "B", "-1"])),
        b64(JSON.stringify([name, "B", "1e3"])),
        b64(JSON.stringify([name, "B", "99999999999999999999999"])),
      );
    }
    // Versions are Int columns: a version past 32 bits is no version.
    if (name === "aggregateHistory") forged.push(b64(JSON.stringify([name, "B", "3000000000"])));
    for (const cursor of forged) {
      await refused("B", name, { after: cursor });
      await refused("B", name, { last: 1, before: cursor });
    }
    expect(await storedCounts(t)).toEqual(before);
  });
});
