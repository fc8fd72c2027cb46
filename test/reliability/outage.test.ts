/**
 * PostgreSQL goes away under load and comes back. Meanwhile the API answers quickly with
 * UNAVAILABLE (no hang, no stack trace), the runners wait without parking events, and
 * afterwards everything resumes by itself: clients that retry with their requestId lose nothing.
 * Runs on its own PostgreSQL server (stopping the shared one would break other suites).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type App, createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { type RunningPostgres, startEmbeddedPostgres } from "../support/embedded-postgres.ts";
import { waitUntil } from "../support/eventually.ts";

interface Answer {
  status: number;
  ms: number;
  body: {
    data?: { deposit?: { commandId: string; errorCode: string } | null } | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

const DEPOSIT = `mutation($n: Int!, $r: String!) {
  deposit(command: { aggregateId: "acc", requestId: $r, waitFor: { stage: PROCESSED } }, input: { amount: $n }) { commandId errorCode }
}`;

describe("database outage (PostgreSQL)", () => {
  let pg: RunningPostgres;
  let app: App;
  let url: string;
  beforeAll(async () => {
    pg = await startEmbeddedPostgres();
    const config = {
      ...loadConfig({ NODE_ENV: "test" }),
      databaseUrl: pg.url,
      port: 0,
      poolSize: 8,
      waitTimeoutMs: 15_000,
      orphanAfterMs: 500,
      runner: { batchSize: 100, pollMs: 100, maxAttempts: 3, onPoison: "dead-letter" as const },
    };
    app = await createApp({ config });
    url = (await app.start()).url;
  });
  afterAll(async () => {
    await app?.stop();
    await pg?.stop();
  });

  const post = async (query: string, variables: Record<string, unknown>): Promise<Answer> => {
    const started = Date.now();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ms: Date.now() - started, body: (await response.json()) as Answer["body"] };
  };
  const deposit = (n: number) => post(DEPOSIT, { n, r: `deposit-${n}` });

  it("answers UNAVAILABLE while the database is down and resumes without loss when it returns", {
    // Room for each phase's deadline, so that a phase that falls short says so itself.
    timeout: 300_000,
  }, async () => {
    const created = await post(
      `mutation { createAccount(command: { aggregateId: "acc" }, input: { name: "Ada", initialBalance: 100 }) { errorCode } }`,
      {},
    );
    expect(created.body.data).toEqual({ createAccount: { errorCode: "Ok" } });

    // Four clients deposit 1, 2, 3, … without pause, before, during and after the outage.
    let next = 1;
    let running = true;
    const answers = new Map<number, Answer>();
    const client = async () => {
      while (running) {
        const n = next++;
        answers.set(n, await deposit(n));
      }
    };
    const clients = Array.from({ length: 4 }, client);

    const answeredFrom = (first: number) => [...answers.entries()].filter(([n]) => n >= first).map(([, a]) => a);
    const succeeded = (answer: Answer) => answer.body.data?.deposit?.errorCode === "Ok";
    // Each phase lasts until the clients got the answers it is about, not a fixed window: a slow
    // machine then proves as much as a fast one, and an API that hangs reaches the deadline.
    const phase = { timeoutMs: 60_000, progress: () => `${answers.size} deposits answered, ${next - 1} sent` };
    let query: Answer;
    let duringOutage: Answer[];
    try {
      await waitUntil("20 deposits answered before the outage", () => answers.size > 20, phase);
      await pg.pause();
      const outageStartedAt = next;
      // Two answers per client to deposits sent while the database is down (a fixed 1.5 s before).
      await waitUntil(
        "8 deposits sent during the outage to be answered",
        () => answeredFrom(outageStartedAt).length >= 8,
        phase,
      );
      duringOutage = answeredFrom(outageStartedAt);
      query = await post(`{ account(id: "acc") { balance } }`, {});
      await pg.resume();
      const resumedAt = next;
      // A deposit sent after the database came back went through (a fixed 1 s before).
      await waitUntil(
        "a deposit sent after the database returned to succeed",
        () => answeredFrom(resumedAt).some(succeeded),
        phase,
      );
    } finally {
      running = false; // also when a phase fell short: the clients must not outlive the test
    }
    await Promise.all(clients);

    // During the outage: prompt, clear answers.
    for (const answer of duringOutage) {
      expect(answer.body.errors?.[0]?.extensions?.code, JSON.stringify(answer.body)).toBe("UNAVAILABLE");
      expect(answer.ms).toBeLessThan(10_000);
    }
    expect(query.body.errors?.[0]?.extensions?.code).toBe("UNAVAILABLE");
    for (const answer of answers.values()) {
      const text = JSON.stringify(answer.body);
      expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack trace
      expect(succeeded(answer) || answer.body.errors?.[0]?.extensions?.code === "UNAVAILABLE", text).toBe(true);
    }
    // After it: new commands go through again, to the last ones sent.
    expect(answeredFrom(next - 4).some(succeeded)).toBe(true);

    // Clients retry what failed, with the same requestId: each deposit lands exactly once.
    for (const [n, answer] of answers) {
      if (!succeeded(answer)) {
        const retried = await deposit(n);
        expect(retried.body.data?.deposit?.errorCode, JSON.stringify(retried.body)).toBe("Ok");
      }
    }
    const total = 100 + [...answers.keys()].reduce((sum, n) => sum + n, 0);
    const loaded = await app.aggregates.load(app.registry.aggregate("Account")!.aggregate, {
      tenantId: "default",
      aggregateName: "Account",
      aggregateId: "acc",
    });
    expect((loaded.state as { balance: number }).balance).toBe(total);
    expect(loaded.version).toBe(1 + answers.size);

    // The runners waited instead of parking events, and caught up on their own.
    await vi.waitFor(
      async () => {
        const view = await app.db.prisma.accountView.findUnique({ where: { key: "default:acc" } });
        expect(view?.balance).toBe(total);
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(await app.db.prisma.deadLetter.count()).toBe(0);
    expect(app.runners.runners.map((r) => r.state).filter((s) => s !== "running")).toEqual([]);
  });
});
