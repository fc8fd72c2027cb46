/**
 * History and time travel over GraphQL, on both engines: the audit trail pages by cursors and
 * carries each event's metadata; state at a version or a time equals a replay of the log, with
 * upcasters applied; bad input gets stable codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAggregate, replay } from "../../src/core/aggregate.ts";
import { defineContext } from "../../src/core/context.ts";
import { Account } from "../../src/domains/banking/account.ts";
import { banking } from "../../src/domains/banking/index.ts";
import type { SendRequest } from "../../src/gateway/gateway.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

/** An aggregate whose `Added` event changed shape: v1 stored `{ n }`, v2 stores `{ amount }`. */
type CounterEvent = { type: "Added"; data: { amount: number }; schemaVersion?: number };
const Counter = defineAggregate({
  name: "Counter",
  commands: { Noop: { input: z.object({}) } },
  eventTypes: ["Added"] as CounterEvent["type"][],
  initialState: () => ({ total: 0 }),
  decide: (): CounterEvent[] => [],
  evolve: (state: { total: number }, event: CounterEvent) => ({ total: state.total + event.data.amount }),
  upcast: (event) =>
    event.schemaVersion === 1
      ? { type: "Added", data: { amount: (event.data as { n: number }).n }, schemaVersion: 2 }
      : (event as CounterEvent),
});
const counters = defineContext({ name: "counters", aggregates: [Counter] });

const HISTORY = `
  query History($aggregate: String!, $id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    aggregateHistory(aggregate: $aggregate, id: $id, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { position version type schemaVersion data commandId requestId correlationId causationId createdAt
              command { type contextName header createdAt } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;
const STATE = `
  query State($aggregate: String!, $id: ID!, $atVersion: Int, $atTime: DateTime) {
    aggregateState(aggregate: $aggregate, id: $id, atVersion: $atVersion, atTime: $atTime) { aggregate id state version at }
  }`;

interface Edge {
  cursor: string;
  node: {
    version: number;
    type: string;
    data: { amount?: number };
    commandId: string;
    requestId: string;
    correlationId: string;
    causationId: string;
    createdAt: string;
    command: { type: string; contextName: string; header: Record<string, unknown> } | null;
  };
}
interface History {
  edges: Edge[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const send = (type: string, aggregateId: string, input: unknown, requestId?: string): SendRequest => ({
  aggregateName: "Account",
  type,
  input,
  aggregateId,
  tenantId: "default",
  requestId,
});

describe.each(engines)("history and time travel on %s", (engine) => {
  let t: TestApp;
  const id = `${engine}-hist`;
  const commandIds: string[] = [];
  const times: Date[] = [];

  beforeAll(async () => {
    t = await startTestApp(engine, {}, [banking, counters]);
    const created = await t.app.gateway.sendAndWait(send("CreateAccount", id, { name: "Ada", initialBalance: 10 }), {
      stage: "PROCESSED",
    });
    commandIds.push(created.commandId);
    // times[k] must lie strictly between two events, also at the millisecond the API shows. So
    // instead of sleeping 15 ms and hoping the clock moved that far: wait until the clock has
    // passed the last event's stored time, take times[k], then wait until it has passed times[k].
    const clockPasses = (ms: number) =>
      waitUntil(`the clock to pass ${new Date(ms).toISOString()}`, () => Date.now() > ms, {
        timeoutMs: 5_000,
        intervalMs: 1,
        progress: () => `it is ${new Date().toISOString()} (is the database on another clock?)`,
      });
    const stream = { tenantId: "default", aggregateName: "Account", aggregateId: id };
    for (let i = 1; i <= 6; i++) {
      await clockPasses((await t.app.events.readStream(stream)).at(-1)!.createdAt.getTime());
      times.push(new Date());
      await clockPasses(times.at(-1)!.getTime());
      const r = await t.app.gateway.sendAndWait(send("Deposit", id, { amount: i }, `dep-${engine}-${i}`), {
        stage: "PROCESSED",
      });
      commandIds.push(r.commandId);
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function history(variables: Record<string, unknown>): Promise<History> {
    const { json } = await t.post({ query: HISTORY, variables: { aggregate: "Account", id, ...variables } });
    expect(json.errors).toBeUndefined();
    return json.data!.aggregateHistory as History;
  }

  it("pages the events forward with cursors, each with its command, request, correlation and time", async () => {
    const page1 = await history({ first: 3 });
    expect(page1.edges.map((e) => e.node.version)).toEqual([1, 2, 3]);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, endCursor: page1.edges[2]!.cursor });
    const page2 = await history({ first: 3, after: page1.pageInfo.endCursor });
    expect(page2.edges.map((e) => e.node.version)).toEqual([4, 5, 6]);
    const page3 = await history({ first: 3, after: page2.pageInfo.endCursor });
    expect(page3.edges.map((e) => e.node.version)).toEqual([7]);
    expect(page3.pageInfo.hasNextPage).toBe(false);

    const all = [...page1.edges, ...page2.edges, ...page3.edges].map((e) => e.node);
    expect(all.map((n) => n.type)).toEqual(["AccountCreated", ...Array(6).fill("MoneyDeposited")]);
    expect(all.map((n) => n.commandId)).toEqual(commandIds);
    expect(all[2]).toMatchObject({
      data: { amount: 2 },
      requestId: `dep-${engine}-2`,
      correlationId: commandIds[2],
      causationId: commandIds[2],
      command: { type: "Deposit", contextName: "banking" },
    });
    expect(Date.parse(all[2]!.createdAt)).toBeGreaterThan(times[1]!.getTime());
    expect(Date.parse(all[2]!.createdAt)).toBeLessThan(times[2]!.getTime());
  });

  it("pages backward with last/before", async () => {
    const tail = await history({ last: 2 });
    expect(tail.edges.map((e) => e.node.version)).toEqual([6, 7]);
    expect(tail.pageInfo.hasPreviousPage).toBe(true);
    const before = await history({ last: 10, before: tail.pageInfo.startCursor });
    expect(before.edges.map((e) => e.node.version)).toEqual([1, 2, 3, 4, 5]);
    expect(before.pageInfo.hasPreviousPage).toBe(false);
  });

  /** Each case's variables (over the Account `id`) are refused with the case's code. */
  async function expectRefusals(query: string, cases: [Record<string, unknown>, string][]): Promise<void> {
    for (const [variables, code] of cases) {
      const { json } = await t.post({ query, variables: { aggregate: "Account", id, ...variables } });
      expect(json.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe(code);
    }
  }

  it("refuses a bad cursor, a bad page size and an unknown aggregate type with stable codes", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ after: "not-a-cursor" }, "INVALID_CURSOR"],
      [{ after: Buffer.from("v1:-3").toString("base64url") }, "INVALID_CURSOR"],
      [{ first: 0 }, "INVALID_PAGE"],
      [{ first: 1000 }, "INVALID_PAGE"],
      [{ aggregate: "Nope" }, "UNKNOWN_AGGREGATE"],
    ];
    await expectRefusals(HISTORY, cases);
  });

  it("time travel at a version and at a time equals a replay of the log up to there", async () => {
    const events = await t.app.events.readStream({ tenantId: "default", aggregateName: "Account", aggregateId: id });
    for (const version of [1, 4, 7]) {
      const { json } = await t.post({ query: STATE, variables: { aggregate: "Account", id, atVersion: version } });
      expect(json.errors).toBeUndefined();
      const expected = replay(Account, events.slice(0, version));
      expect(json.data!.aggregateState).toMatchObject({ aggregate: "Account", id, version, state: expected });
    }
    // times[k] lies between version k+1 (k deposits + the creation) and version k+2.
    for (const k of [0, 3, 5]) {
      const { json } = await t.post({ query: STATE, variables: { aggregate: "Account", id, atTime: times[k] } });
      expect(json.errors).toBeUndefined();
      const expected = replay(Account, events.slice(0, k + 1));
      expect(json.data!.aggregateState).toMatchObject({ version: k + 1, state: expected });
    }
    const now = await t.post({ query: STATE, variables: { aggregate: "Account", id } });
    expect(now.json.data!.aggregateState).toMatchObject({ version: 7, state: { balance: 10 + 21 } });
    const beforeBirth = await t.post({
      query: STATE,
      variables: { aggregate: "Account", id, atTime: "2000-01-01T00:00:00Z" },
    });
    expect(beforeBirth.json.data!.aggregateState).toBeNull();
  });

  it("time travel loads through the aggregate loader: a snapshot at or below the point is used, one above it is not", async () => {
    const snapId = `${engine}-hist-snap`;
    await t.app.gateway.sendAndWait(send("CreateAccount", snapId, { name: "Bo", initialBalance: 10 }), {
      stage: "PROCESSED",
    });
    const r = await t.app.gateway.sendAndWait(send("Deposit", snapId, { amount: 5 }), { stage: "SNAPSHOT" });
    expect(r.succeeded).toBe(true);
    // Tamper with the snapshot (version 2): a state that trusts it shows the marker balance.
    await t.db.sql.query(`UPDATE snapshots SET state = jsonb_set(state, '{balance}', '1000') WHERE aggregate_id = $1`, [
      snapId,
    ]);
    const stream = { tenantId: "default", aggregateName: "Account", aggregateId: snapId };
    const events = await t.app.events.readStream(stream);
    const stateAt = async (atVersion?: number) => {
      const { json } = await t.post({ query: STATE, variables: { aggregate: "Account", id: snapId, atVersion } });
      expect(json.errors).toBeUndefined();
      return json.data!.aggregateState as { version: number; state: { balance: number }; at: string };
    };
    // At the snapshot's version no event is read, yet the time is that of version 2's event.
    expect(await stateAt()).toMatchObject({
      version: 2,
      state: { balance: 1000 },
      at: events[1]!.createdAt.toISOString(),
    });
    expect(await stateAt(2)).toMatchObject({ version: 2, state: { balance: 1000 } });
    // Below the snapshot: replayed from the log's start.
    expect(await stateAt(1)).toMatchObject({
      version: 1,
      state: { balance: 10 },
      at: events[0]!.createdAt.toISOString(),
    });
  });

  it("applies upcasters when replaying", async () => {
    const stream = { tenantId: "default", aggregateName: "Counter", aggregateId: `${engine}-c` };
    const meta = { commandId: commandIds[0]!, requestId: "r", correlationId: commandIds[0]!, causationId: "test" };
    await t.app.events.append(
      stream,
      0,
      [
        { type: "Added", data: { n: 5 }, schemaVersion: 1 },
        { type: "Added", data: { amount: 7 }, schemaVersion: 2 },
      ],
      meta,
    );
    const { json } = await t.post({ query: STATE, variables: { aggregate: "Counter", id: `${engine}-c` } });
    expect(json.data!.aggregateState).toMatchObject({ version: 2, state: { total: 12 } });
    const { json: atOne } = await t.post({
      query: STATE,
      variables: { aggregate: "Counter", id: `${engine}-c`, atVersion: 1 },
    });
    expect(atOne.data!.aggregateState).toMatchObject({ version: 1, state: { total: 5 } });
  });

  it("refuses both atVersion and atTime, versions out of range and unknown types with stable codes", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ atVersion: 2, atTime: new Date().toISOString() }, "AMBIGUOUS_POINT_IN_TIME"],
      [{ atVersion: 0 }, "VERSION_OUT_OF_RANGE"],
      [{ atVersion: 99 }, "VERSION_OUT_OF_RANGE"],
      [{ aggregate: "Nope" }, "UNKNOWN_AGGREGATE"],
    ];
    await expectRefusals(STATE, cases);
  });
});
