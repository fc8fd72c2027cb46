/**
 * A saga's batch, run by the real runner on both engines: reactions to different events run at
 * once, commands for one aggregate keep log order, a batch that fails half-way sends nothing
 * twice when retried, and a reaction can look things up (a read model, an aggregate) and follow
 * an accepted command up. The gateway's `send` is watched (and held or failed on cue) to make
 * each interleaving happen by a condition, never by timing.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineContext } from "../../src/core/context.ts";
import { ReadOnlyViolation } from "../../src/core/errors.ts";
import { defineReadModel, defineSaga, type SagaAcceptance, type SagaCommand } from "../../src/core/processors.ts";
import { Account, type AccountEvent, type AccountState } from "../../src/domains/banking/account.ts";
import { banking } from "../../src/domains/banking/index.ts";
import type { SendRequest, Wait } from "../../src/gateway/gateway.ts";
import { type ReadOnlyPrisma, readOnlyPrisma } from "../../src/store/read-only-prisma.ts";
import { useTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";
import { waitUntil } from "../support/eventually.ts";

const fastRunners = { batchSize: 100, pollMs: 50, maxAttempts: 3, onPoison: "dead-letter" as const };
const SAGA = "sagaconc.Probe";

/** The deposit amounts that set the probe off, and what each asks for. */
const ROUTE = 9001; // data: deposit `amount % 100` on the account named by the depositor's id suffix
const LOOK = 9002; // look up `<id>-src` (read model and aggregate), deposit what was seen on `<id>-view`/`<id>-state`
const FOLLOW = 9003; // deposit 1 on `<id>-a`; once accepted, deposit its new version on `<id>-b`

const accountView = defineReadModel({
  name: "AccountView by id",
  read: (db: ReadOnlyPrisma, tenantId: string, accountId: string) =>
    db.accountView.findFirst({ where: { tenantId, id: accountId } }),
});

const acceptances: SagaAcceptance[] = [];
const deposit = (aggregateId: string, amount: number, key: string): SagaCommand => ({
  aggregateName: "Account",
  aggregateId,
  type: "Deposit",
  key,
  data: { amount },
});

/**
 * Routes each deposit of ROUTE+n to a target named in the depositor's id: `<prefix>:<target>:<n>`
 * deposits n on `<target>`. So several events of one batch can aim at one aggregate.
 */
const Probe = defineSaga<AccountEvent>({
  name: "Probe",
  eventTypes: ["MoneyDeposited"],
  async react(event, context) {
    const { amount } = event.data as { amount: number };
    const id = event.aggregateId;
    if (amount === ROUTE) {
      const [prefix, target, n] = id.split(":") as [string, string, string];
      return [deposit(`${prefix}:${target}`, Number(n), "route")];
    }
    if (amount === LOOK) {
      const view = await context.read(accountView, `${id}-src`);
      const { state, version } = await context.aggregate(Account, `${id}-src`);
      return [
        deposit(`${id}-view`, view?.balance ?? 0, "view"),
        deposit(`${id}-state`, (state as AccountState).balance + version * 1000, "state"),
      ];
    }
    if (amount === FOLLOW) {
      return [
        {
          ...deposit(`${id}-a`, 1, "a"),
          onAccepted: (acceptance) => {
            acceptances.push(acceptance);
            return [deposit(`${id}-b`, acceptance.accepted.aggregateVersion ?? 0, "b")];
          },
        },
      ];
    }
    return [];
  },
});
const probing = defineContext({ name: "sagaconc", aggregates: [], processors: [Probe] });

describe.each(engines)("a saga's batch on %s", (engine) => {
  const t = useTestApp(engine, { runner: fastRunners }, [banking, probing]);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const request = (type: string, aggregateId: string, input: unknown): SendRequest => ({
    aggregateName: "Account",
    type,
    input,
    aggregateId,
    tenantId: "default",
  });
  async function open(id: string, balance = 0) {
    const r = await t.app.gateway.sendAndWait(request("CreateAccount", id, { name: id, initialBalance: balance }), {
      stage: "ALL",
    });
    expect(r.succeeded).toBe(true);
  }
  const balance = async (id: string) =>
    (
      (await t.app.aggregates.load(Account, { tenantId: "default", aggregateName: "Account", aggregateId: id }))
        .state as AccountState
    ).balance;

  /** The saga's sends, watched: `hook` runs before each is passed on (it may wait, or throw). */
  function watchSends(hook: (request: SendRequest) => Promise<void>) {
    const gateway = t.app.gateway;
    const original = gateway.send.bind(gateway);
    const started: SendRequest[] = [];
    const finished: SendRequest[] = [];
    /** `start <aggregate> <amount>` and `finish …`, in the order they happened. */
    const timeline: string[] = [];
    const name = (req: SendRequest) => `${req.aggregateId} ${(req.input as { amount: number }).amount}`;
    vi.spyOn(gateway, "send").mockImplementation(async (req: SendRequest, wait?: Wait) => {
      if (!req.internalRequestId) return original(req, wait);
      started.push(req);
      timeline.push(`start ${name(req)}`);
      await hook(req);
      const sent = await original(req, wait);
      const results = sent.results;
      // Finished: its outcome (PROCESSED) was read by the saga.
      async function* watched() {
        yield* results;
        finished.push(req);
        timeline.push(`finish ${name(req)}`);
      }
      return { ...sent, results: watched() };
    });
    return { started, finished, timeline };
  }

  /**
   * Depositors `<p>:<target>:<n>` (events in this order, in one batch of the saga): each routes
   * a deposit of n to its target. Sent while the saga is stopped, so the restarted saga reads
   * them all in one batch; resolves once all are SAGA_HANDLED.
   */
  async function routeBatch(p: string, routes: [target: string, n: number][], during: () => Promise<void>) {
    for (const target of new Set(routes.map(([target]) => target))) await open(`${p}:${target}`);
    for (const [target, n] of routes) await open(`${p}:${target}:${n}`);
    const saga = t.app.runners.runner(SAGA)!;
    await saga.stop();
    const commandIds: string[] = [];
    try {
      for (const [target, n] of routes) {
        const r = await t.app.gateway.sendAndWait(request("Deposit", `${p}:${target}:${n}`, { amount: ROUTE }));
        expect(r.succeeded).toBe(true);
        commandIds.push(r.commandId);
      }
      await during();
    } finally {
      saga.start();
    }
    for (const commandId of commandIds) {
      const handled = await t.app.gateway.waitFor("default", commandId, { stage: "SAGA_HANDLED", timeoutMs: 60_000 });
      expect(handled).toMatchObject({ succeeded: true });
    }
  }

  /**
   * Watches the saga's sends, holding its command on `<p>:t` of amount 1 until a command on
   * `<p>:u` has started; `inVain()` tells whether that never happened (the hold timed out).
   */
  function holdTUntilUSends(p: string) {
    let inVain = false;
    const sends = watchSends(async (req) => {
      if (req.aggregateId === `${p}:t` && (req.input as { amount: number }).amount === 1) {
        await waitUntil("a command on u to start", () => sends.started.some((r) => r.aggregateId === `${p}:u`), {
          timeoutMs: 15_000,
        }).catch(() => {
          inVain = true;
        });
      }
    });
    return { sends, inVain: () => inVain };
  }

  /** Opens account `id` and deposits `amount` on it, waiting until the saga's reaction has run (chain-wide). */
  async function openAndReact(id: string, amount: number): Promise<void> {
    await open(id);
    const r = await t.app.gateway.sendAndWait(request("Deposit", id, { amount }), {
      stage: "SAGA_HANDLED",
      chain: true,
    });
    expect(r.succeeded).toBe(true);
  }

  /** The amounts deposited on an account after its creation, in log order. */
  const depositsOn = async (id: string) =>
    (
      await t.db.sql.query<{ amount: number }>(
        `SELECT (body->>'amount')::int AS amount FROM events
          WHERE aggregate_id = $1 AND type = 'MoneyDeposited' ORDER BY position`,
        [id],
      )
    ).map((r) => r.amount);

  it("reacts to events for different aggregates at once: one reaction waits until another's has started", async () => {
    const p = `${engine}-c`;
    // The first event's command is held until the third event's reaction (another aggregate)
    // has sent: a saga handling one event at a time never gets there (verified: held to the end).
    const held = holdTUntilUSends(p);
    await routeBatch(
      p,
      [
        ["t", 1],
        ["u", 3],
      ],
      async () => {},
    );
    expect(held.inVain()).toBe(false);
    expect(await balance(`${p}:t`)).toBe(1);
    expect(await balance(`${p}:u`)).toBe(3);
  });

  it("keeps log order for one aggregate's commands from different events, while others go on", async () => {
    const p = `${engine}-o`;
    // Hold the first event's command on t until the third event (on u) has sent. A second
    // event's command on t that did not wait for the first would be sent meanwhile (it comes
    // before the third in the log) and land first (verified, by dropping the key chain).
    const { sends, inVain } = holdTUntilUSends(p);
    await routeBatch(
      p,
      [
        ["t", 1],
        ["t", 2],
        ["u", 3],
        ["t", 4],
      ],
      async () => {},
    );
    expect(inVain()).toBe(false);
    expect(await depositsOn(`${p}:t`)).toEqual([1, 2, 4]);
    // Each was sent only once the one before it on t had its outcome; u's went on meanwhile.
    expect(sends.timeline.filter((step) => step.includes(`${p}:t `))).toEqual([
      `start ${p}:t 1`,
      `finish ${p}:t 1`,
      `start ${p}:t 2`,
      `finish ${p}:t 2`,
      `start ${p}:t 4`,
      `finish ${p}:t 4`,
    ]);
    expect(sends.timeline.indexOf(`start ${p}:u 3`)).toBeLessThan(sends.timeline.indexOf(`finish ${p}:t 1`));
  });

  it("a batch that fails half-way is retried and sends nothing twice", async () => {
    const p = `${engine}-r`;
    let failed = false;
    const sends = watchSends(async (req) => {
      // The second event's command fails once, after the first and third reactions' commands
      // were processed: the retried batch finds those and sends only what is missing.
      if (!failed && req.aggregateId === `${p}:t` && (req.input as { amount: number }).amount === 2) {
        await waitUntil(
          "the other reactions to finish",
          () =>
            sends.finished.some((r) => r.aggregateId === `${p}:u`) &&
            sends.finished.some((r) => r.aggregateId === `${p}:t`),
          { timeoutMs: 15_000 },
        );
        failed = true;
        throw new Error("connection lost (test)");
      }
    });
    await routeBatch(
      p,
      [
        ["t", 1],
        ["t", 2],
        ["u", 3],
      ],
      async () => {},
    );
    expect(failed).toBe(true);
    // The first and third were asked for again by the retry (found, not stored again).
    const asked = sends.started.map((r) => r.internalRequestId!);
    expect(asked.length).toBeGreaterThan(3);
    const stored = await t.db.sql.query<{ request_id: string; n: number }>(
      `SELECT request_id, count(*)::int AS n FROM commands WHERE request_id LIKE $1 GROUP BY request_id`,
      [`internal:saga:${SAGA}:%`],
    );
    const mine = stored.filter((row) => asked.includes(row.request_id));
    expect(mine).toHaveLength(3);
    expect(mine.every((row) => row.n === 1)).toBe(true);
    expect(await depositsOn(`${p}:t`)).toEqual([1, 2]);
    expect(await depositsOn(`${p}:u`)).toEqual([3]);
  });

  it("a reaction reads a read model and an aggregate's state through its context", async () => {
    const id = `${engine}-look`;
    await open(`${id}-src`, 321);
    for (const suffix of ["view", "state"]) await open(`${id}-${suffix}`);
    await openAndReact(id, LOOK);
    // The view's balance, and the aggregate's (321) plus its version (1) × 1000.
    expect(await balance(`${id}-view`)).toBe(321);
    expect(await balance(`${id}-state`)).toBe(1321);
  });

  it("onAccepted follows an accepted command up with commands of its own", async () => {
    const id = `${engine}-follow`;
    for (const suffix of ["a", "b"]) await open(`${id}-${suffix}`);
    await openAndReact(id, FOLLOW);
    const acceptance = acceptances.find((a) => a.accepted.command.aggregateId === `${id}-a`);
    expect(acceptance).toMatchObject({ accepted: { aggregateVersion: 2 }, before: [] });
    expect(acceptance!.accepted.commandId).toMatch(/^[0-9a-f-]{36}$/);
    // The follow-up deposited the version the accepted command left (2).
    expect(await balance(`${id}-b`)).toBe(2);
  });

  it("the read models' client reads, and refuses writes and raw SQL", async () => {
    const db = readOnlyPrisma(t.db.prisma);
    await expect(db.accountView.count()).resolves.toBeGreaterThan(0);
    const writable = db as unknown as Record<string, Record<string, () => unknown>>;
    expect(() => writable.accountView!.deleteMany!()).toThrow(ReadOnlyViolation);
    expect(() => writable.$executeRawUnsafe).toThrow(ReadOnlyViolation);
  });
});
