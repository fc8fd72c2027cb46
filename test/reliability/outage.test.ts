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

  it("answers UNAVAILABLE while the database is down and resumes without loss when it returns", async () => {
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

    await vi.waitFor(() => expect(answers.size).toBeGreaterThan(20), { timeout: 10_000, interval: 20 });
    await pg.pause();
    const outageStartedAt = next;
    await new Promise((r) => setTimeout(r, 1_500));
    const duringOutage = [...answers.entries()].filter(([n]) => n > outageStartedAt).map(([, a]) => a);
    const query = await post(`{ account(id: "acc") { balance } }`, {});
    await pg.resume();
    await new Promise((r) => setTimeout(r, 1_000));
    running = false;
    await Promise.all(clients);

    // During the outage: prompt, clear answers.
    expect(duringOutage.length).toBeGreaterThan(0);
    for (const answer of duringOutage) {
      expect(answer.body.errors?.[0]?.extensions?.code, JSON.stringify(answer.body)).toBe("UNAVAILABLE");
      expect(answer.ms).toBeLessThan(10_000);
    }
    expect(query.body.errors?.[0]?.extensions?.code).toBe("UNAVAILABLE");
    for (const answer of answers.values()) {
      const text = JSON.stringify(answer.body);
      expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack trace
      const ok = answer.body.data?.deposit?.errorCode === "Ok";
      expect(ok || answer.body.errors?.[0]?.extensions?.code === "UNAVAILABLE", text).toBe(true);
    }
    // After it: new commands go through again.
    const after = [...answers.entries()].filter(([n]) => n >= next - 4).map(([, a]) => a);
    expect(after.some((a) => a.body.data?.deposit?.errorCode === "Ok")).toBe(true);

    // Clients retry what failed, with the same requestId: each deposit lands exactly once.
    for (const [n, answer] of answers) {
      if (answer.body.data?.deposit?.errorCode !== "Ok") {
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
