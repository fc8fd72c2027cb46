/**
 * Given/when/then for deciders, without a database:
 *
 *   spec(Account).given([created]).when("Withdraw", { amount: 5 }).thenFails("INSUFFICIENT_BALANCE");
 *
 * `when` validates the input with the command's own schema (defaults applied), exactly as the
 * gateway does, so a spec exercises what a client could really send. Assertions use
 * node:assert, so any test runner reports them. `.events` is what the command produced (to
 * chain into the next spec's `given`, or to check with your own assertions).
 */
import { deepStrictEqual, fail } from "node:assert/strict";
import { type AggregateDefinition, asEvents, type CommandSpecs, type Evolver, replay } from "../core/aggregate.ts";
import { DomainError } from "../core/errors.ts";
import type { DomainEvent } from "../core/messages.ts";

type InputOf<Specs extends CommandSpecs, K extends keyof Specs> = Parameters<Specs[K]["input"]["parse"]>[0];

export function spec<Name extends string, State, Specs extends CommandSpecs, Event extends DomainEvent>(
  aggregate: AggregateDefinition<Name, State, Specs, Event>,
) {
  return {
    given(history: readonly Event[] = []) {
      const before = replay(
        aggregate,
        history.map((e) => ({ type: e.type, data: e.data, schemaVersion: e.schemaVersion ?? 1 })),
      );
      return {
        /** The state the history folds into. */
        state: before,
        when<K extends keyof Specs & string>(type: K, input: InputOf<Specs, K>) {
          const data = aggregate.commands[type]!.input.parse(input);
          const command = {
            type,
            data,
            metadata: { commandId: "spec", tenantId: "spec", aggregateId: "spec", header: {}, createdAt: new Date(0) },
          };
          let outcome: { events: Event[] } | { error: unknown };
          try {
            outcome = { events: asEvents(aggregate.decide(command as never, before)) };
          } catch (error) {
            outcome = { error };
          }
          return new Outcome(aggregate, before, outcome);
        },
      };
    },
  };
}

class Outcome<State, Event extends DomainEvent> {
  constructor(
    private readonly aggregate: Evolver<State, Event>,
    private readonly before: State,
    private readonly outcome: { events: Event[] } | { error: unknown },
  ) {}

  /** The command was accepted and produced exactly these events. */
  thenEvents(expected: readonly Event[]): this {
    deepStrictEqual(this.events, normalise(expected));
    return this;
  }

  /** The command was refused with this domain error code. */
  thenFails(code: string): this {
    if (!("error" in this.outcome))
      fail(`expected ${code}, but the command produced ${JSON.stringify(this.outcome.events)}`);
    const error = this.outcome.error;
    if (!(error instanceof DomainError)) throw error;
    deepStrictEqual(error.code, code);
    return this;
  }

  /** The state after the produced events (partial match: only the given keys are compared). */
  thenState(expected: Partial<State>): this {
    const after = this.events.reduce((s, e) => this.aggregate.evolve(s, e), this.before);
    const picked = Object.fromEntries(Object.keys(expected).map((k) => [k, (after as Record<string, unknown>)[k]]));
    deepStrictEqual(picked, expected);
    return this;
  }

  /** The events the command produced (throws the command's error when it was refused). */
  get events(): Event[] {
    if ("error" in this.outcome) throw this.outcome.error;
    return normalise(this.outcome.events);
  }
}

const normalise = <E extends DomainEvent>(events: readonly E[]): E[] =>
  events.map(
    (e) =>
      ({
        type: e.type,
        data: e.data,
        ...(e.schemaVersion && e.schemaVersion !== 1 ? { schemaVersion: e.schemaVersion } : {}),
      }) as E,
  );
