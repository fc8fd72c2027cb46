/**
 * `npm run seed`: fills the database (DATABASE_URL, else the embedded one `npm start` uses)
 * with sample customers, products and orders, sent as commands through the gateway, so every
 * read model is built exactly as in production.
 *
 *   npm run seed -- --customers 1000 --products 200 --orders 20000 [--concurrency 8] [--seed 1]
 */
import { parseArgs } from "node:util";
import { SingleBar } from "cli-progress";
import { type App, createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import type { SendRequest } from "./gateway/gateway.ts";
import { logger } from "./logger.ts";
import { between, customerName, orderJourney, pick, productName, productPrice, randomSource } from "./seed-data.ts";

export interface SeedOptions {
  customers: number;
  products: number;
  orders: number;
  /** Commands in flight at once. */
  concurrency: number;
  /** PRNG seed: the same seed sends the same data. */
  seed: number;
  tenantId: string;
  /** Called after each command with how many of the planned commands were sent. */
  onProgress?: (done: number, total: number) => void;
}

export interface SeedReport {
  customers: number;
  products: number;
  orders: number;
  commands: number;
  refused: number;
}

type SeedCounts = Pick<SeedOptions, "customers" | "products" | "orders" | "concurrency" | "seed">;

export const DEFAULT_SEED: SeedCounts = {
  customers: 1000,
  products: 200,
  orders: 20_000,
  concurrency: 8,
  seed: 1,
};

/** Commands sent per order at most: create plus four steps. */
const STEPS_PER_ORDER = 5;

export async function seed(app: App, options: SeedOptions): Promise<SeedReport> {
  const random = randomSource(options.seed);
  const total = options.customers + options.products + options.orders * STEPS_PER_ORDER;
  let done = 0;
  let refused = 0;
  const send = async (request: Omit<SendRequest, "tenantId">): Promise<string> => {
    // PROJECTED: an order's names are copied from the customer and product views, so those must
    // be projected first; and when seed() returns, every read model is complete.
    const result = await app.gateway.sendAndWait({ ...request, tenantId: options.tenantId }, { stage: "PROJECTED" });
    if (!result.succeeded) {
      refused++;
      logger.warn(
        { type: request.type, errorCode: result.errorCode, errorMsg: result.errorMsg },
        "seed command refused",
      );
    }
    options.onProgress?.(++done, total);
    return result.aggregateId;
  };

  const customers = await inPool(options.concurrency, options.customers, (n) => {
    const name = customerName(random);
    const email = `${name.toLowerCase().replace(/[^a-z]+/g, ".")}.${n + 1}@example.com`;
    return send({ aggregateName: "Customer", type: "RegisterCustomer", input: { name, email } });
  });
  const products = await inPool(options.concurrency, options.products, async (n) => {
    const price = productPrice(random);
    return {
      id: await send({
        aggregateName: "Product",
        type: "RegisterProduct",
        input: { name: productName(random, n), price },
      }),
      price,
    };
  });

  await inPool(options.concurrency, options.orders, async () => {
    const lines = new Map<string, { productId: string; quantity: number; unitPrice: number }>();
    for (let i = between(random, 1, 4); i > 0 && products.length > 0; i--) {
      const product = pick(random, products);
      lines.set(product.id, { productId: product.id, quantity: between(random, 1, 3), unitPrice: product.price });
    }
    const customerId = pick(random, customers);
    const journey = orderJourney(random);
    const trackingNumber = `TRK${between(random, 100000, 999999)}`;
    // Every random draw of an order happens before its first await: tasks start in index
    // order, so the same seed gives the same data whatever the concurrency.
    const orderId = await send({
      aggregateName: "Order",
      type: "CreateOrder",
      input: { customerId, items: [...lines.values()] },
    });
    for (const type of journey) {
      const input = type === "ShipOrder" ? { trackingNumber } : {};
      await send({ aggregateName: "Order", type, input, aggregateId: orderId });
    }
    // Orders that stop early send fewer commands than planned: count them as done.
    done += STEPS_PER_ORDER - 1 - journey.length;
    options.onProgress?.(done, total);
  });

  return {
    customers: customers.length,
    products: products.length,
    orders: options.orders,
    commands: done,
    refused,
  };
}

/** Runs `task(0..count-1)` with at most `size` in flight; results in index order. */
async function inPool<T>(size: number, count: number, task: (n: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      results[n] = await task(n);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, count) }, worker));
  return results;
}

function parseFlags(argv: string[]): SeedCounts & { tenantId?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      customers: { type: "string" },
      products: { type: "string" },
      orders: { type: "string" },
      concurrency: { type: "string" },
      seed: { type: "string" },
      tenant: { type: "string" },
    },
  });
  const count = (name: keyof SeedCounts, min: number): number => {
    const raw = values[name];
    if (raw === undefined) return DEFAULT_SEED[name];
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${raw}`);
    return n;
  };
  return {
    customers: count("customers", 1),
    products: count("products", 1),
    orders: count("orders", 0),
    concurrency: count("concurrency", 1),
    seed: count("seed", 0),
    tenantId: values.tenant,
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  // The API is not needed: no port is taken (0 = any free one, on loopback).
  const config = { ...loadConfig(), port: 0, host: "127.0.0.1" };
  const app = await createApp({ config });
  await app.start();
  const bar = new SingleBar({
    format: "seeding [{bar}] {percentage}% | {value}/{total} commands | {eta_formatted} left",
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5_000,
  });
  try {
    const options = { ...flags, tenantId: flags.tenantId ?? config.defaultTenant };
    bar.start(options.customers + options.products + options.orders * STEPS_PER_ORDER, 0);
    const report = await seed(app, { ...options, onProgress: (done) => bar.update(done) });
    bar.stop();
    // Read models are built by the runners: finish when they have caught up with the log.
    const caughtUp = await app.runners.waitForProjections(await app.events.headPosition(), 600_000);
    logger.info({ ...report, projected: caughtUp, database: app.db.description }, "seed finished");
  } finally {
    bar.stop();
    await app.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    logger.error({ err: error }, "seed failed");
    process.exitCode = 1;
  });
}
