/**
 * `npm run seed` in small: the data goes through the gateway and lands in every read model.
 */
import { describe, expect, it } from "vitest";
import { seed } from "../src/seed.ts";
import { FAST_RUNNER, useTestApp } from "./support/app.ts";
import { engines } from "./support/databases.ts";

describe.each(engines)("seed on %s", (engine) => {
  const t = useTestApp(engine, { runner: FAST_RUNNER });

  it("sends customers, products and orders as commands; the projections build every read model", async () => {
    const progress: number[] = [];
    const report = await seed(t.app, {
      customers: 5,
      products: 4,
      orders: 30,
      concurrency: 3,
      seed: 7,
      tenantId: "default",
      onProgress: (done) => progress.push(done),
    });
    expect(report).toMatchObject({ customers: 5, products: 4, orders: 30, refused: 0 });
    expect(progress.at(-1)).toBe(5 + 4 + 30 * 5);

    const prisma = t.db.prisma;
    expect(await prisma.customerView.count()).toBe(5);
    expect(await prisma.productView.count()).toBe(4);
    expect(await prisma.orderSummary.count()).toBe(30);
    expect(await prisma.orderSummary.count({ where: { customerName: "" } })).toBe(0);
    expect(await prisma.orderLine.count({ where: { productName: "" } })).toBe(0);
    const stats = await prisma.customerOrderStats.aggregate({ _sum: { ordersPlaced: true } });
    expect(stats._sum.ordersPlaced).toBe(30);
    const statuses = await prisma.orderSummary.groupBy({ by: ["status"], _count: true });
    expect(statuses.length).toBeGreaterThan(2);
    const commands = await t.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM commands");
    // report.commands also counts the steps of orders that stopped early (never sent).
    expect(commands[0]!.n).toBeGreaterThanOrEqual(5 + 4 + 30);
    expect(commands[0]!.n).toBeLessThanOrEqual(report.commands);
  });
});
