/**
 * A bounded context: its aggregates, the processors that derive state from its events, and
 * (optionally) the GraphQL read side it adds. The engine only ever sees this shape, so adding
 * a context never touches the gateway, the runners or the GraphQL wiring.
 */
import type { AnyAggregate } from "./aggregate.ts";
import type { AnyProcessor } from "./processors.ts";

export interface BoundedContext<SchemaExtension = unknown> {
  name: string;
  aggregates: readonly AnyAggregate[];
  processors?: readonly AnyProcessor[];
  /** Adds the context's queries (read models) to the GraphQL schema; see src/graphql/builder.ts. */
  schema?: SchemaExtension;
}

export function defineContext<S>(context: BoundedContext<S>): BoundedContext<S> {
  return context;
}
