/**
 * The ordering read side end to end over GraphQL, on both engines: denormalized order views
 * that follow renames, cursor pagination, search, customer statistics and error codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderingViews } from "../../../src/domains/ordering/projection.ts";
import { FAST_RUNNER, startTestApp, type TestApp } from "../../support/app.ts";
import { engines } from "../../support/databases.ts";
import { accepted, command, createOrder, query } from "./graphql-client.ts";

interface Line {
  productId: string;
  productName: string;
  quantity: number;
  unitPrice: number;
  subtotal: number;
}
interface Summary {
  id: string;
  customerName: string;
  status: string;
  itemCount: number;
  total: number;
}
interface Connection<N> {
  edges: { cursor: string; node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor: string };
}

const ORDER = `query($id: ID!) { order(id: $id) {
  id customerId customerName status itemCount lineCount total createdAt submittedAt cancelReason
  lines { productId productName quantity unitPrice subtotal } } }`;
const BY_CUSTOMER = `query($customerId: ID!, $status: OrderStatus, $first: Int, $after: String) {
  ordersByCustomer(customerId: $customerId, status: $status, first: $first, after: $after) {
    edges { cursor node { id customerName status itemCount total } } pageInfo { hasNextPage endCursor } } }`;
const SEARCH = `query($text: String!, $from: DateTime, $to: DateTime, $status: OrderStatus, $first: Int, $after: String) {
  searchOrders(text: $text, from: $from, to: $to, status: $status, first: $first, after: $after) {
    edges { cursor node { id customerName status total } } pageInfo { hasNextPage endCursor } } }`;

describe.each(engines)("ordering read models on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, { runner: FAST_RUNNER });
    await accepted(t, "registerCustomer", { name: "Ada Lovelace", email: "ada@example.com" }, "ada");
    await accepted(t, "registerCustomer", { name: "Grace Hopper" }, "grace");
    await accepted(t, "registerProduct", { name: "Brass Lamp", price: 1500 }, "lamp");
    await accepted(t, "registerProduct", { name: "Oak Desk", price: 20000 }, "desk");
    await accepted(t, "registerProduct", { name: "Paper Clip", price: 5 }, "clip");
  });
  afterAll(async () => {
    await t?.stop();
  });

  const search = async (variables: Record<string, unknown>) =>
    (await query<{ searchOrders: Connection<Summary> }>(t, SEARCH, variables)).searchOrders;
  const searchIds = async (variables: Record<string, unknown>) =>
    (await search(variables)).edges.map((e) => e.node.id).sort();

  it("order(id) holds the lines with product names, unit prices and subtotals", async () => {
    await createOrder(t, "o-detail", "ada", [
      { productId: "lamp", quantity: 2, unitPrice: 1500 },
      { productId: "desk", quantity: 1, unitPrice: 19000 },
    ]);
    await accepted(t, "addItem", { productId: "clip", quantity: 100, unitPrice: 5 }, "o-detail");
    await accepted(t, "removeItem", { productId: "desk" }, "o-detail");
    await accepted(t, "addItem", { productId: "lamp", quantity: 1, unitPrice: 1500 }, "o-detail");
    const { order } = await query<{ order: Summary & { lines: Line[]; lineCount: number } }>(t, ORDER, {
      id: "o-detail",
    });
    expect(order).toMatchObject({
      customerName: "Ada Lovelace",
      status: "DRAFT",
      itemCount: 103,
      lineCount: 2,
      total: 5000,
    });
    expect(order.lines).toEqual([
      { productId: "lamp", productName: "Brass Lamp", quantity: 3, unitPrice: 1500, subtotal: 4500 },
      { productId: "clip", productName: "Paper Clip", quantity: 100, unitPrice: 5, subtotal: 500 },
    ]);
    expect((await query<{ order: null }>(t, ORDER, { id: "no-such-order" })).order).toBeNull();
  });

  it("renaming a customer or a product updates every copy: orders, lines, statistics and search", async () => {
    await accepted(t, "registerCustomer", { name: "Mary Shelley" }, "mary");
    await accepted(t, "registerProduct", { name: "Quill Pen", price: 300 }, "quill");
    await createOrder(t, "o-r1", "mary", [{ productId: "quill", quantity: 2, unitPrice: 300 }]);
    await createOrder(t, "o-r2", "mary", [
      { productId: "quill", quantity: 1, unitPrice: 300 },
      { productId: "lamp", quantity: 1, unitPrice: 1500 },
    ]);
    expect(await searchIds({ text: "shelley quill" })).toEqual(["o-r1", "o-r2"]);

    await accepted(t, "renameCustomer", { name: "Mary Wollstonecraft" }, "mary");
    await accepted(t, "renameProduct", { name: "Goose Feather" }, "quill");

    const { order } = await query<{ order: Summary & { lines: Line[] } }>(t, ORDER, { id: "o-r2" });
    expect(order.customerName).toBe("Mary Wollstonecraft");
    expect(order.lines.map((l) => l.productName)).toEqual(["Goose Feather", "Brass Lamp"]);
    const list = await query<{ ordersByCustomer: Connection<Summary> }>(t, BY_CUSTOMER, { customerId: "mary" });
    expect(list.ordersByCustomer.edges.map((e) => e.node.customerName)).toEqual([
      "Mary Wollstonecraft",
      "Mary Wollstonecraft",
    ]);
    const stats = await query<{ customerStats: { customerName: string } }>(
      t,
      `query { customerStats(customerId: "mary") { customerName } }`,
    );
    expect(stats.customerStats.customerName).toBe("Mary Wollstonecraft");
    expect(await searchIds({ text: "wollstonecraft goose" })).toEqual(["o-r1", "o-r2"]);
    expect(await searchIds({ text: "wollstonecraft brass" })).toEqual(["o-r2"]);
    expect(await searchIds({ text: "shelley" })).toEqual([]);
    expect(await searchIds({ text: "quill" })).toEqual([]);
    // Repricing changes the catalogue, never the unit price an order was placed at.
    await accepted(t, "repriceProduct", { price: 999 }, "quill");
    const after = await query<{ order: { lines: Line[] }; product: { price: number } }>(
      t,
      `query { order(id: "o-r1") { lines { productId productName quantity unitPrice subtotal } } product(id: "quill") { price } }`,
    );
    expect(after.product.price).toBe(999);
    expect(after.order.lines[0]).toMatchObject({ unitPrice: 300, subtotal: 600 });
  });

  it("ordersByCustomer pages newest first with cursors and filters by status", async () => {
    const ids = ["o-p1", "o-p2", "o-p3", "o-p4", "o-p5"];
    for (const id of ids) {
      await createOrder(t, id, "grace", [{ productId: "clip", quantity: 1, unitPrice: 5 }]);
    }
    await accepted(t, "submitOrder", undefined, "o-p2");
    await accepted(t, "submitOrder", undefined, "o-p4");
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 5; page++) {
      const { ordersByCustomer } = await query<{ ordersByCustomer: Connection<Summary> }>(t, BY_CUSTOMER, {
        customerId: "grace",
        first: 2,
        after,
      });
      expect(ordersByCustomer.edges.length).toBeLessThanOrEqual(2);
      seen.push(...ordersByCustomer.edges.map((e) => e.node.id));
      if (!ordersByCustomer.pageInfo.hasNextPage) break;
      after = ordersByCustomer.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const submitted = await query<{ ordersByCustomer: Connection<Summary> }>(t, BY_CUSTOMER, {
      customerId: "grace",
      status: "SUBMITTED",
    });
    expect(submitted.ordersByCustomer.edges.map((e) => e.node)).toEqual([
      { id: "o-p4", customerName: "Grace Hopper", status: "SUBMITTED", itemCount: 1, total: 5 },
      { id: "o-p2", customerName: "Grace Hopper", status: "SUBMITTED", itemCount: 1, total: 5 },
    ]);
  });

  it("searchOrders finds by order ID, filters by status and dates, and pages", async () => {
    const generated = await createOrder(t, undefined, "grace", [{ productId: "desk", quantity: 1, unitPrice: 20000 }]);
    expect(await searchIds({ text: generated.aggregateId })).toEqual([generated.aggregateId]);
    expect(await searchIds({ text: generated.aggregateId.slice(0, 13) })).toContain(generated.aggregateId);
    expect(await searchIds({ text: "GRACE oak" })).toEqual([generated.aggregateId]);
    expect(await searchIds({ text: "grace", status: "SUBMITTED" })).toEqual(["o-p2", "o-p4"]);
    expect(await searchIds({ text: "grace", from: new Date(Date.now() + 3_600_000).toISOString() })).toEqual([]);
    expect((await searchIds({ text: "grace", to: new Date(Date.now() + 3_600_000).toISOString() })).length).toBe(6);
    expect(await searchIds({ text: "  --  " })).toEqual([]);

    const pages: string[][] = [];
    let after: string | undefined;
    do {
      const page = await search({ text: "grace", first: 4, after });
      pages.push(page.edges.map((e) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
    } while (after);
    expect(pages.map((p) => p.length)).toEqual([4, 2]);
    expect(pages.flat()).toEqual([generated.aggregateId, "o-p5", "o-p4", "o-p3", "o-p2", "o-p1"]);

    const { json } = await t.post({ query: SEARCH, variables: { text: "grace", after: "bm90LWEtY3Vyc29y" } });
    expect(json.errors?.[0]?.extensions?.code).toBe("INVALID_CURSOR");
  });

  it("keeps per-customer statistics; a cancelled submitted order no longer counts as spent", async () => {
    await accepted(t, "registerCustomer", { name: "Alan Turing" }, "alan");
    await createOrder(t, "o-s1", "alan", [{ productId: "lamp", quantity: 2, unitPrice: 1500 }]);
    await createOrder(t, "o-s2", "alan", [{ productId: "desk", quantity: 1, unitPrice: 20000 }]);
    await createOrder(t, "o-s3", "alan");
    for (const step of ["submitOrder", "confirmOrder", "shipOrder", "deliverOrder"])
      await accepted(t, step, step === "shipOrder" ? { trackingNumber: "TRK-9" } : undefined, "o-s1");
    await accepted(t, "submitOrder", undefined, "o-s2");
    await accepted(t, "cancelOrder", { reason: "found it cheaper" }, "o-s2");
    const { customer } = await query<{ customer: { name: string; stats: Record<string, unknown> } }>(
      t,
      `query { customer(id: "alan") { name stats { ordersPlaced ordersSubmitted ordersDelivered ordersCancelled totalSpent firstOrderAt lastOrderAt } } }`,
    );
    expect(customer.stats).toMatchObject({
      ordersPlaced: 3,
      ordersSubmitted: 2,
      ordersDelivered: 1,
      ordersCancelled: 1,
      totalSpent: "3000",
    });
    expect(customer.stats.firstOrderAt).not.toBeNull();
    const { order } = await query<{ order: Summary & { cancelReason: string } }>(t, ORDER, { id: "o-s2" });
    expect(order).toMatchObject({ status: "CANCELLED", cancelReason: "found it cheaper" });
  });

  it("refusals carry the domain's error codes and store nothing", async () => {
    await createOrder(t, "o-e1", "ada");
    expect(await command(t, "submitOrder", undefined, "o-e1")).toMatchObject({
      succeeded: false,
      errorCode: "ORDER_EMPTY",
    });
    expect(await command(t, "deliverOrder", undefined, "o-e1")).toMatchObject({
      succeeded: false,
      errorCode: "ORDER_NOT_SHIPPED",
    });
    expect(await command(t, "createOrder", { customerId: "ada" }, "o-e1")).toMatchObject({
      succeeded: false,
      errorCode: "AGGREGATE_ALREADY_EXISTS",
    });
    const { order } = await query<{ order: Summary }>(t, ORDER, { id: "o-e1" });
    expect(order).toMatchObject({ status: "DRAFT", itemCount: 0, total: 0 });
  });
  it("OrderingViews rebuilds from the log into the same rows (renames' raw updates and the order_lines foreign key included)", {
    timeout: 120_000,
  }, async () => {
    expect(await t.app.runners.waitForProjections(await t.app.events.headPosition(), 20_000)).toBe(true);
    const before = await readModelRows();
    expect(before.order_lines?.length).toBeGreaterThan(0);
    const searchedBefore = await searchIds({ text: "wollstonecraft goose" });

    const job = await t.app.rebuilds.start("ordering.OrderingViews");
    const final = await job.done;
    expect(final).toMatchObject({ state: "DONE", errorCode: null });

    expect(await readModelRows()).toEqual(before);
    expect(await searchIds({ text: "wollstonecraft goose" })).toEqual(searchedBefore);
    // The swapped-in order_lines references the swapped-in order_summaries, as the migration made it.
    const [fk] = await t.db.sql.query<{ target: string }>(
      `SELECT confrelid::regclass::text AS target FROM pg_constraint WHERE conrelid = 'order_lines'::regclass AND contype = 'f'`,
    );
    expect(fk?.target).toBe("order_summaries");
    // And the live projection goes on writing into the new tables.
    await accepted(t, "registerProduct", { name: "Ink Well", price: 700 }, "ink");
    await createOrder(t, "o-after", "grace", [{ productId: "ink", quantity: 1, unitPrice: 700 }]);
    expect(await searchIds({ text: "hopper ink" })).toEqual(["o-after"]);
  });

  /** Every row of the projection's tables, in key order. */
  async function readModelRows(): Promise<Record<string, unknown[]>> {
    const rows: Record<string, unknown[]> = {};
    for (const table of OrderingViews.tables ?? []) {
      // search_vector included: the database generates it again in the new table.
      rows[table] = await t.db.sql.query(`SELECT * FROM ${table} ORDER BY key`);
    }
    return rows;
  }
});
