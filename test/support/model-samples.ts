/**
 * A full sample row for any Prisma model, generated from the datamodel the client was built
 * with, so that the schema test round-trips every model — including a read model a team adds
 * for its own bounded context — without anyone writing (or editing) sample data.
 *
 * Every column gets a value, and no two columns of one row get the same one (a column read back
 * from another column's place shows). Strings are UUID-shaped, so they also fit `@db.Uuid`
 * columns; big integers are past 2^53, so a lossy path through a JS number shows. A relation's
 * foreign key columns take the referenced row's primary key (the referenced model gets its
 * sample first; see `sampleOrder`).
 */
import * as enums from "../../src/generated/prisma/enums.ts";

interface Field {
  type: string;
  kind: string;
  name: string;
  isList: boolean;
  isId: boolean;
  relationFromFields?: readonly string[];
}

export interface Model {
  fields: readonly Field[];
  primaryKey: { fields: readonly string[] } | null;
  uniqueIndexes: readonly { fields: readonly string[] }[];
}

export type Datamodel = Record<string, Model>;

export interface Sample {
  data: Record<string, unknown>;
  /** Finds the sample's row again: its primary key (or first unique index). */
  where: Record<string, unknown>;
}

const AT = Date.parse("2026-01-02T03:04:05.678Z");

/** A value of a scalar type, distinct for each `n`. */
function scalar(field: Field, n: number): unknown {
  switch (field.type) {
    case "String":
      return `00000000-0000-7000-8000-${n.toString().padStart(12, "0")}`;
    case "Int":
      return 1000 + n;
    case "BigInt":
      return 9007199254740993n + BigInt(n);
    case "Float":
      return n + 0.5;
    case "Decimal":
      return `${n}.25`;
    case "Boolean":
      return n % 2 === 1;
    case "DateTime":
      return new Date(AT + n * 1000);
    case "Json":
      return { column: field.name, n, list: [n, "x"] };
    case "Bytes":
      return new Uint8Array([n % 256, 1, 2]);
    default:
      if (field.kind === "enum") {
        const values = Object.values((enums as Record<string, Record<string, string>>)[field.type] ?? {});
        if (values.length > 0) return values[n % values.length];
      }
      throw new Error(`No sample for ${field.name}: ${field.type} (add the type to test/support/model-samples.ts)`);
  }
}

export const idFields = (model: Model): readonly string[] =>
  model.primaryKey?.fields ??
  (model.fields.some((f) => f.isId) ? model.fields.filter((f) => f.isId).map((f) => f.name) : undefined) ??
  model.uniqueIndexes[0]?.fields ??
  [];

/** The models that a model's foreign keys reference. */
const referenced = (model: Model): string[] =>
  model.fields.filter((f) => f.kind === "object" && (f.relationFromFields?.length ?? 0) > 0).map((f) => f.type);

/** The models in an order where every referenced model comes before the models referencing it. */
export function sampleOrder(datamodel: Datamodel): string[] {
  const order: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`Cyclic foreign keys: ${[...path, name].join(" → ")}`);
    const model = datamodel[name];
    if (!model) throw new Error(`Unknown model ${name}`);
    for (const parent of referenced(model)) if (parent !== name) visit(parent, [...path, name]);
    order.push(name);
  };
  for (const name of Object.keys(datamodel).sort()) visit(name, []);
  return order;
}

/** One sample per model, in `sampleOrder`. */
export function generateSamples(datamodel: Datamodel): Map<string, Sample> {
  const samples = new Map<string, Sample>();
  let n = 0;
  for (const name of sampleOrder(datamodel)) {
    const model = datamodel[name] as Model;
    const data: Record<string, unknown> = {};
    for (const field of model.fields) {
      if (field.kind === "object") continue;
      n += 1;
      data[field.name] = field.isList ? [scalar(field, n), scalar(field, n + 1000)] : scalar(field, n);
    }
    for (const relation of model.fields) {
      const from = relation.relationFromFields ?? [];
      if (relation.kind !== "object" || from.length === 0) continue;
      const parent = samples.get(relation.type);
      const parentModel = datamodel[relation.type] as Model;
      const to = idFields(parentModel);
      if (!parent || to.length !== from.length) {
        throw new Error(`${name}.${relation.name}: cannot tell which ${relation.type} columns it references`);
      }
      from.forEach((column, i) => {
        data[column] = parent.data[to[i] as string];
      });
    }
    const key = idFields(model);
    if (key.length === 0) throw new Error(`${name} has no primary key or unique index to find its sample by`);
    samples.set(name, { data, where: Object.fromEntries(key.map((column) => [column, data[column]])) });
  }
  return samples;
}
