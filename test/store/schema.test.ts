/**
 * schema.prisma and the SQL migrations must agree: every model round-trips through the
 * generated client on a database built only from the migrations. A model added to the schema
 * without sample data here, or a column the migrations lack, fails this test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma, type PrismaClient } from "../../src/generated/prisma/client.ts";
import { engines, openTestDatabase, type TestDatabase } from "../support/databases.ts";

const uuid = (n: number) => `00000000-0000-7000-8000-${n.toString().padStart(12, "0")}`;
const at = new Date("2026-01-02T03:04:05.678Z");

type Delegate = {
  create(args: { data: unknown }): Promise<unknown>;
  findFirstOrThrow(args: { where: unknown }): Promise<unknown>;
};

/** One full row per model, every column set; `where` finds it again. */
const samples: Record<Prisma.ModelName, { data: Record<string, unknown>; where: Record<string, unknown> }> = {
  Event: {
    data: {
      tenantId: "t1",
      aggregateName: "Account",
      aggregateId: "a1",
      version: 1,
      type: "AccountCreated",
      schemaVersion: 2,
      body: { name: "Ada", amount: 10 },
      commandId: uuid(1),
      requestId: "r1",
      correlationId: uuid(1),
      causationId: uuid(1),
      createdAt: at,
    },
    where: { aggregateId: "a1" },
  },
  Snapshot: {
    data: {
      tenantId: "t1",
      aggregateName: "Account",
      aggregateId: "a1",
      version: 3,
      stateVersion: 1,
      state: { balance: 5 },
      position: 42n,
      createdAt: at,
    },
    where: { aggregateId: "a1" },
  },
  ProcessorCheckpoint: {
    data: { processorName: "p1", transactionId: 9007199254740993n, position: 7n, updatedAt: at },
    where: { processorName: "p1" },
  },
  Command: {
    data: {
      commandId: uuid(2),
      tenantId: "t1",
      requestId: "r2",
      payloadHash: "abc",
      contextName: "banking",
      aggregateName: "Account",
      aggregateId: "a1",
      type: "Deposit",
      body: { amount: 1 },
      header: { caller: "me" },
      expectedVersion: 4,
      correlationId: uuid(2),
      causationId: uuid(2),
      waitCommandId: uuid(2),
      status: "DONE",
      attempts: 1,
      createdAt: at,
      processedAt: at,
      expiresAt: at,
    },
    where: { commandId: uuid(2) },
  },
  CommandResult: {
    data: {
      commandId: uuid(3),
      waitCommandId: uuid(3),
      stage: "PROCESSED",
      scope: "STAGE",
      tenantId: "t1",
      contextName: "banking",
      aggregateName: "Account",
      aggregateId: "a1",
      aggregateVersion: 2,
      requestId: "r3",
      functionKind: "AGGREGATE",
      functionContext: "banking",
      processorName: "Account",
      functionName: "Deposit",
      errorCode: "Ok",
      errorMsg: null,
      bindingErrors: [{ field: "amount", code: "too_small", message: "m" }],
      result: { ok: true },
      positions: [1n, 2n],
      succeeded: true,
      signalTime: at,
      expiresAt: at,
    },
    where: { commandId: uuid(3) },
  },
  AccountView: {
    data: {
      key: "t1:a1",
      tenantId: "t1",
      id: "a1",
      name: "Ada",
      balance: 10,
      locked: 2,
      status: "ACTIVE",
      version: 3,
      updatedAt: at,
    },
    where: { key: "t1:a1" },
  },
  TransferView: {
    data: {
      key: "t1:x1",
      tenantId: "t1",
      id: "x1",
      sourceAccountId: "a1",
      targetAccountId: "a2",
      amount: 5,
      status: "FAILED",
      reason: "ACCOUNT_FROZEN",
      createdAt: at,
      updatedAt: at,
    },
    where: { key: "t1:x1" },
  },
  CustomerView: {
    data: {
      key: "t1:c1",
      tenantId: "t1",
      id: "c1",
      name: "Ada",
      email: "ada@example.com",
      version: 2,
      createdAt: at,
      updatedAt: at,
    },
    where: { key: "t1:c1" },
  },
  ProductView: {
    data: { key: "t1:p1", tenantId: "t1", id: "p1", name: "Lamp", price: 1999, version: 3, updatedAt: at },
    where: { key: "t1:p1" },
  },
  // Before OrderLine: a line references its order (the cases run in this order).
  OrderSummary: {
    data: {
      key: "t1:o1",
      tenantId: "t1",
      id: "o1",
      customerId: "c1",
      customerName: "Ada",
      status: "CANCELLED",
      itemCount: 3,
      lineCount: 1,
      total: 5997,
      productNames: "Lamp",
      createdPosition: 9007199254740993n,
      version: 6,
      createdAt: at,
      updatedAt: at,
      submittedAt: at,
      confirmedAt: at,
      shippedAt: at,
      deliveredAt: at,
      cancelledAt: at,
      cancelReason: "changed mind",
      trackingNumber: "TRK1",
    },
    where: { key: "t1:o1" },
  },
  OrderLine: {
    data: {
      key: "t1:o1:p1",
      orderKey: "t1:o1",
      tenantId: "t1",
      productId: "p1",
      productName: "Lamp",
      quantity: 3,
      unitPrice: 1999,
      subtotal: 5997,
      lineNo: 1,
    },
    where: { key: "t1:o1:p1" },
  },
  CustomerOrderStats: {
    data: {
      key: "t1:c1",
      tenantId: "t1",
      customerId: "c1",
      customerName: "Ada",
      ordersPlaced: 4,
      ordersSubmitted: 3,
      ordersDelivered: 1,
      ordersCancelled: 1,
      totalSpent: 9007199254740993n,
      firstOrderAt: at,
      lastOrderAt: at,
      updatedAt: at,
    },
    where: { key: "t1:c1" },
  },
  DeadLetter: {
    data: {
      processorName: "p1",
      position: 5n,
      transactionId: 6n,
      eventType: "X",
      error: "boom",
      attempts: 3,
      createdAt: at,
    },
    where: { processorName: "p1" },
  },
};

describe.each(engines)("schema.prisma agrees with the migrations on %s", (engine) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("has sample data for every model", () => {
    expect(Object.keys(samples).sort()).toEqual(Object.values(Prisma.ModelName).sort());
  });

  it.each(Object.keys(samples) as Prisma.ModelName[])("%s round-trips every column", async (model) => {
    const sample = samples[model];
    const key = (model.charAt(0).toLowerCase() + model.slice(1)) as keyof PrismaClient;
    const delegate = db.prisma[key] as unknown as Delegate;
    await delegate.create({ data: sample.data });
    const row = (await delegate.findFirstOrThrow({ where: sample.where })) as Record<string, unknown>;
    expect(row).toMatchObject(sample.data);
  });
});
