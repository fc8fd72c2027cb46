/**
 * Saga commands built from the target aggregate's own definition: the aggregate is a value, the
 * command type one of its command names and the data that command's input, so a typo in any of
 * them fails at compile time instead of as UNKNOWN_COMMAND at run time.
 */
import type { z } from "zod";
import type { AnyAggregate, CommandSpecs } from "./aggregate.ts";
import type { SagaCommand } from "./processors.ts";

type SpecsOf<A> = A extends { commands: infer Specs extends CommandSpecs } ? Specs : never;

/** The command names an aggregate declares. */
export type CommandTypeOf<A> = keyof SpecsOf<A> & string;

/** What a command of that aggregate takes (before defaults: the gateway validates and fills them). */
export type CommandInputOf<A, K extends CommandTypeOf<A>> = SpecsOf<A>[K] extends { input: infer I extends z.ZodType }
  ? z.input<I> extends infer D extends Record<string, unknown>
    ? D
    : never
  : never;

/** A saga command's options besides its target: `aggregateId`, `key`, `onRejected`, … */
export type SagaCommandOptions<Data> = Omit<SagaCommand, "aggregateName" | "type" | "data"> & { data: Data };

export function commandFor<A extends AnyAggregate, K extends CommandTypeOf<A>>(
  aggregate: A,
  type: K,
  options: SagaCommandOptions<CommandInputOf<A, K>>,
): SagaCommand {
  return { ...options, aggregateName: aggregate.name, type };
}
