/**
 * A probe aggregate for the command queue tests: a tape that records the numbers its commands
 * carry, so the order in which the queue processed them is the order of the stream's events.
 * `poison` makes a command that always throws while committing (an event body JSON cannot
 * carry), not a domain refusal; `hang` makes the decider spin forever in a process started with
 * STAGELINE_TEST_HANG=1 (a process stuck with a claim in hand, to be SIGKILLed).
 */
import { z } from "zod";
import { defineAggregate } from "../../../src/core/aggregate.ts";
import { defineContext } from "../../../src/core/context.ts";

export const Tape = defineAggregate({
  name: "Tape",
  events: { Appended: z.object({ n: z.number().int(), extra: z.any().optional() }) },
  commands: {
    Append: {
      mode: "upsert",
      input: z.object({ n: z.number().int(), poison: z.boolean().optional(), hang: z.boolean().optional() }),
    },
  },
  initialState: (): { last: number } => ({ last: 0 }),
  decide: (command) => {
    if (command.data.hang && process.env.STAGELINE_TEST_HANG === "1") for (;;);
    const extra = command.data.poison ? { extra: 1n } : {};
    return [{ type: "Appended", data: { n: command.data.n, ...extra } }];
  },
  evolve: (_state, event) => ({ last: event.data.n }),
});

export const tapes = defineContext({ name: "tapes", aggregates: [Tape] });

/** An asynchronous Append (stored at SENT, processed by the queue). */
export const append = (aggregateId: string, n: number, flags: { poison?: boolean; hang?: boolean } = {}) => ({
  aggregateName: "Tape",
  type: "Append",
  tenantId: "t",
  aggregateId,
  input: { n, ...flags },
  async: true,
});

/** The numbers on a tape, in stream order. */
export const TAPE_SQL = `SELECT (body->>'n')::int AS n FROM events
  WHERE tenant_id = 't' AND aggregate_name = 'Tape' AND aggregate_id = $1 ORDER BY version`;
