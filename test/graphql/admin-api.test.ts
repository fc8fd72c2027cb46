/**
 * Projection rebuilds as an admin would drive them, on both engines: the GraphQL mutation, the
 * progress subscription over graphql-ws, typed errors, and the CLI command's function.
 */
import { Writable } from "node:stream";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { rebuildProjection } from "../../src/cli.ts";
import { accountCommand, startTestApp, type TestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

const PROGRESS = "rebuildId projection tables state processed total percent eventsPerSecond errorCode finishedAt";
const send = accountCommand;

interface Progress {
  projection: string;
  state: string;
  processed: number;
  total: number;
  percent: number;
  eventsPerSecond: number;
  errorCode: string | null;
}

describe.each(engines)("admin API and CLI on %s", (engine) => {
  let t: TestApp;
  const id = `${engine}-adm`;

  beforeAll(async () => {
    t = await startTestApp(engine, { runner: { batchSize: 5, pollMs: 20, maxAttempts: 2, onPoison: "dead-letter" } });
    await t.app.gateway.sendAndWait(send("CreateAccount", id, { name: "Ada", initialBalance: 1 }), {
      stage: "PROCESSED",
    });
    for (let i = 1; i <= 12; i++) {
      await t.app.gateway.sendAndWait(send("Deposit", id, { amount: i }), { stage: "PROCESSED" });
    }
    const r = await t.app.gateway.sendAndWait(send("Deposit", id, { amount: 100 }), { stage: "PROJECTED" });
    expect(r.succeeded).toBe(true);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const balance = async () => (await t.db.prisma.accountView.findUnique({ where: { key: `default:${id}` } }))?.balance;

  it("rebuildProjection(wait: true) answers DONE and the rows are right again", async () => {
    await t.db.sql.query("UPDATE account_views SET balance = -1 WHERE id = $1", [id]);
    const { json } = await t.post({
      query: `mutation { rebuildProjection(projection: "AccountView", wait: true) { ${PROGRESS} } }`,
    });
    expect(json.errors).toBeUndefined();
    expect(json.data!.rebuildProjection).toMatchObject({
      projection: "banking.AccountView",
      tables: ["account_views"],
      state: "DONE",
      percent: 100,
      errorCode: null,
    });
    expect(await balance()).toBe(1 + 78 + 100);
    const latest = await t.post({ query: `{ projectionRebuild(projection: "banking.AccountView") { state } }` });
    expect(latest.json.data!.projectionRebuild).toEqual({ state: "DONE" });
  });

  it("streams a rebuild's progress over graphql-ws until DONE", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let paused!: () => void;
    const atSwap = new Promise<void>((resolve) => {
      paused = resolve;
    });
    const job = await t.app.rebuilds.start("AccountView", {
      beforeSwap: () => {
        paused();
        return held;
      },
    });
    await atSwap;
    const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    const seen: Progress[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ projectionRebuild: Progress }>(
        { query: `subscription { projectionRebuild(projection: "AccountView") { ${PROGRESS} } }` },
        {
          next: (m) => {
            if (m.errors) reject(new Error(JSON.stringify(m.errors)));
            if (m.data) seen.push(m.data.projectionRebuild);
            if (seen.length === 1) release();
          },
          error: reject,
          complete: resolve,
        },
      );
    });
    await done;
    await client.dispose();
    await job.done;
    // First where it stood (replayed everything, waiting to swap), last DONE.
    expect(seen[0]).toMatchObject({ state: "REPLAYING", processed: 14, total: 14 });
    expect(seen[0]!.eventsPerSecond).toBeGreaterThan(0);
    expect(seen[0]!.percent).toBeGreaterThan(90);
    expect(seen.at(-1)).toMatchObject({ state: "DONE", percent: 100, processed: 14 });
  });

  it("an unknown projection is refused with UNKNOWN_PROJECTION", async () => {
    const { json } = await t.post({ query: `mutation { rebuildProjection(projection: "Nope") { state } }` });
    expect(json.errors?.[0]?.extensions?.code).toBe("UNKNOWN_PROJECTION");
    const sub = await t.post({ query: `{ projectionRebuild(projection: "Nope") { state } }` });
    expect(sub.json.errors?.[0]?.extensions?.code).toBe("UNKNOWN_PROJECTION");
  });

  it("the CLI command rebuilds with a progress bar, and names an unknown projection", async () => {
    await t.db.sql.query("UPDATE transfer_views SET status = 'BROKEN'");
    let output = "";
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        output += String(chunk);
        callback();
      },
    });
    const done = await rebuildProjection(t.db, "banking.TransferView", { stream, batchSize: 5 });
    expect(done).toMatchObject({ state: "DONE", projection: "banking.TransferView", processed: 14 });
    expect(output).toContain("banking.TransferView [");
    expect(output).toContain("100% | 14/14 events");
    // The app's own runner goes on over the rebuilt table.
    const r = await t.app.gateway.sendAndWait(send("Deposit", id, { amount: 1 }), { stage: "PROJECTED" });
    expect(r.succeeded).toBe(true);
    expect(await balance()).toBe(1 + 78 + 100 + 1);
    await expect(rebuildProjection(t.db, "Nope", { stream })).rejects.toMatchObject({ code: "UNKNOWN_PROJECTION" });
  });
});
