/**
 * Log positions as tenants see them (issue 13), on both engines: every position a tenant is
 * shown (a command's `positions`, an event's `position` in its history, the position inside a
 * saga command's request and causation IDs) is a token bound to that tenant, so another
 * tenant's writes change nothing a tenant can compare, and a tenant cannot use another's token
 * nor forge one (INVALID_POSITION, nothing stored). Read-your-writes with a token still works,
 * and the tokens are made with the key kept in the database.
 */
import { describe, expect, it } from "vitest";
import { positionTokens } from "../../src/core/position-token.ts";
import { PositionKeyStore } from "../../src/store/position-key-store.ts";
import { useTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const TOKEN = /^[A-Za-z0-9_-]{48}$/;
const PROCESSED = "waitFor: { stage: PROCESSED }";
const ACCOUNT = "query A($id: ID!, $at: Position) { account(id: $id, minPosition: $at) { balance } }";
const HISTORY = `query H($id: ID!) { aggregateHistory(aggregate: "Account", id: $id) {
  edges { node { position type requestId causationId } } } }`;

interface Node {
  position: string;
  type: string;
  requestId: string;
  causationId: string;
}

describe.each(engines)("position tokens on %s", (engine) => {
  const t = useTestApp(engine);
  const as = async (tenant: string, query: string, variables: Record<string, unknown> = {}) =>
    (await t.post({ query, variables }, { "x-tenant-id": tenant })).json;
  const send = async (tenant: string, mutation: string) => {
    const json = await as(tenant, `mutation { ${mutation} { succeeded positions } }`);
    expect(json.errors).toBeUndefined();
    const result = Object.values(json.data!)[0] as { succeeded: boolean; positions: string[] };
    expect(result.succeeded).toBe(true);
    return result.positions;
  };
  const codesOf = (json: { errors?: { extensions?: { code?: string } }[] }) =>
    (json.errors ?? []).map((e) => e.extensions?.code);
  const stored = async () => {
    const [row] = await t.db.sql.query<{ events: string; commands: string }>(
      "SELECT (SELECT count(*) FROM events)::text AS events, (SELECT count(*) FROM commands)::text AS commands",
    );
    return row;
  };

  it("shows a tenant tokens only it can use, whatever other tenants write", async () => {
    const [opened] = await send(
      "pos-a",
      `createAccount(input: { name: "Ada", initialBalance: 100 }, command: { aggregateId: "a1", ${PROCESSED} })`,
    );
    for (let i = 0; i < 8; i++) {
      await send("pos-b", `createAccount(input: { name: "B${i}", initialBalance: 1 }, command: { ${PROCESSED} })`);
    }
    const [deposited] = await send(
      "pos-a",
      `deposit(input: { amount: 5 }, command: { aggregateId: "a1", ${PROCESSED} })`,
    );
    expect(opened).toMatch(TOKEN);
    expect(deposited).toMatch(TOKEN);

    // The tokens hold the global positions (eight of B's events between them), under the
    // database's key, for tenant A only.
    const tokens = positionTokens(await new PositionKeyStore(t.db.sql).load());
    expect(tokens.decode("pos-a", deposited!) - tokens.decode("pos-a", opened!)).toBeGreaterThan(8n);
    expect(() => tokens.decode("pos-b", deposited!)).toThrow(expect.objectContaining({ code: "INVALID_POSITION" }));

    // Read-your-writes with a token.
    const read = await as("pos-a", ACCOUNT, { id: "a1", at: deposited });
    expect(read.errors).toBeUndefined();
    expect(read.data).toEqual({ account: { balance: 105 } });

    // The history shows the same tokens.
    const history = await as("pos-a", HISTORY, { id: "a1" });
    const nodes = (history.data!.aggregateHistory as { edges: { node: Node }[] }).edges.map((e) => e.node);
    expect(nodes.map((n) => n.position)).toEqual([opened, deposited]);

    // Another tenant's token, a forged one, a raw number: INVALID_POSITION, nothing stored.
    const before = await stored();
    const forged = `${deposited!.slice(0, 10)}${deposited![10] === "A" ? "B" : "A"}${deposited!.slice(11)}`;
    for (const [tenant, at] of [
      ["pos-b", deposited!],
      ["pos-a", forged],
      ["pos-a", "12"],
      ["pos-a", "x".repeat(300)],
    ] as const) {
      const json = await as(tenant, ACCOUNT, { id: "a1", at });
      expect(json.data ?? null).toEqual(json.data === undefined ? null : { account: null });
      expect(codesOf(json)).toEqual([at.length > 256 ? "BAD_USER_INPUT" : "INVALID_POSITION"]);
    }
    expect(await stored()).toEqual(before);
  });

  it("shows a saga command's request and causation IDs with a token, not the position", async () => {
    await send(
      "pos-s",
      `createAccount(input: { name: "Ada", initialBalance: 100 }, command: { aggregateId: "s1", ${PROCESSED} })`,
    );
    await send(
      "pos-s",
      `createAccount(input: { name: "Bob", initialBalance: 0 }, command: { aggregateId: "s2", ${PROCESSED} })`,
    );
    const [prepared] = await send(
      "pos-s",
      `prepareTransfer(input: { transferId: "t1", targetAccountId: "s2", amount: 10 },
        command: { aggregateId: "s1", waitFor: { stage: SAGA_HANDLED, chain: true } })`,
    );
    const history = await as("pos-s", HISTORY, { id: "s2" });
    const received = (history.data!.aggregateHistory as { edges: { node: Node }[] }).edges
      .map((e) => e.node)
      .find((n) => n.type === "TransferReceived")!;
    expect(received.causationId).toBe(`event:${prepared}`);
    expect(received.requestId).toMatch(new RegExp(`^internal:saga:[^:]+:${prepared}:`));

    const recent = await as("pos-s", "{ recentCommands(first: 10) { requestId } }");
    const ids = (recent.data!.recentCommands as { requestId: string }[]).map((c) => c.requestId);
    const sagas = ids.filter((id) => id.startsWith("internal:saga:"));
    expect(sagas.length).toBeGreaterThan(0);
    for (const id of sagas) expect(id.split(":")[3]).toMatch(TOKEN);
  });
});
