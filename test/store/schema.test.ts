/**
 * schema.prisma and the SQL migrations must agree: every model round-trips through the
 * generated client on a database built only from the migrations. A column the migrations lack
 * (or of another type) fails this test.
 *
 * The models are not listed here: each one's sample row is generated from the datamodel the
 * client was built with (test/support/model-samples.ts). A team adding a read model for its own
 * bounded context adds a model and a migration, and this test covers it with no edit — it used
 * to hold a `Record<Prisma.ModelName, …>` of hand-written rows, which stopped compiling the
 * moment a model was added.
 */
import { describe, expect, it } from "vitest";
import { getDatamodel } from "../../src/generated/pothos-prisma-types.ts";
import { Prisma, type PrismaClient } from "../../src/generated/prisma/client.ts";
import { engines, useTestDatabase } from "../support/databases.ts";
import { type Datamodel, generateSamples, idFields, sampleOrder } from "../support/model-samples.ts";

type Delegate = {
  create(args: { data: unknown }): Promise<unknown>;
  findFirstOrThrow(args: { where: unknown }): Promise<unknown>;
};

const datamodel = getDatamodel().datamodel.models as unknown as Datamodel;
const samples = generateSamples(datamodel);
const delegateOf = (prisma: PrismaClient, model: string) =>
  prisma[(model.charAt(0).toLowerCase() + model.slice(1)) as keyof PrismaClient] as unknown as Delegate;

describe("generated sample rows", () => {
  it("cover every model of the client, referenced models first", () => {
    expect([...samples.keys()].sort()).toEqual(Object.values(Prisma.ModelName).sort());
    const order = sampleOrder(datamodel);
    expect(order.indexOf("OrderSummary")).toBeLessThan(order.indexOf("OrderLine"));
  });

  it("need no edit for a model this test has never heard of", () => {
    // A context's new read models, as the datamodel would describe them: every scalar type, a
    // composite primary key, a foreign key to it and a list column.
    const invented: Datamodel = {
      InvoiceLine: {
        fields: [
          { name: "tenantId", type: "String", kind: "scalar", isList: false, isId: false },
          { name: "invoiceNo", type: "Int", kind: "scalar", isList: false, isId: false },
          { name: "lineNo", type: "Int", kind: "scalar", isList: false, isId: false },
          {
            name: "invoice",
            type: "InvoiceView",
            kind: "object",
            isList: false,
            isId: false,
            relationFromFields: ["tenantId", "invoiceNo"],
          },
          { name: "tags", type: "String", kind: "scalar", isList: true, isId: false },
        ],
        primaryKey: { fields: ["tenantId", "invoiceNo", "lineNo"] },
        uniqueIndexes: [],
      },
      InvoiceView: {
        fields: [
          { name: "tenantId", type: "String", kind: "scalar", isList: false, isId: false },
          { name: "invoiceNo", type: "Int", kind: "scalar", isList: false, isId: false },
          ...["BigInt", "Float", "Decimal", "Boolean", "DateTime", "Json", "Bytes"].map((type) => ({
            name: `a${type}`,
            type,
            kind: "scalar",
            isList: false,
            isId: false,
          })),
          { name: "lines", type: "InvoiceLine", kind: "object", isList: true, isId: false, relationFromFields: [] },
        ],
        primaryKey: { fields: ["tenantId", "invoiceNo"] },
        uniqueIndexes: [],
      },
    };
    const generated = generateSamples(invented);
    const invoice = generated.get("InvoiceView")!;
    const line = generated.get("InvoiceLine")!;
    expect(Object.keys(invoice.data).sort()).toEqual(
      ["tenantId", "invoiceNo", "aBigInt", "aFloat", "aDecimal", "aBoolean", "aDateTime", "aJson", "aBytes"].sort(),
    );
    expect(invoice.where).toEqual({ tenantId: invoice.data.tenantId, invoiceNo: invoice.data.invoiceNo });
    // The line's foreign key is the invoice's primary key; its own columns are its own values.
    expect(line.data).toMatchObject({ tenantId: invoice.data.tenantId, invoiceNo: invoice.data.invoiceNo });
    expect(line.data.lineNo).not.toBe(invoice.data.invoiceNo);
    expect(line.data.tags).toHaveLength(2);
    expect(idFields(invented.InvoiceLine!)).toEqual(["tenantId", "invoiceNo", "lineNo"]);
  });
});

describe.each(engines)("schema.prisma agrees with the migrations on %s", (engine) => {
  const db = useTestDatabase(engine);

  // In sampleOrder: a row's referenced rows exist before it is created.
  it.each(sampleOrder(datamodel))("%s round-trips every column", async (model) => {
    const sample = samples.get(model)!;
    const delegate = delegateOf(db.prisma, model);
    await delegate.create({ data: sample.data });
    const row = (await delegate.findFirstOrThrow({ where: sample.where })) as Record<string, unknown>;
    expect(row).toMatchObject(sample.data);
  });
});
