/**
 * An event handler a test can break and mend: while `broken` is set it throws `message` for every
 * event it subscribes to (so a runner parks them as dead letters); otherwise it records the
 * position of each event it handled, for a test to count.
 */
import { defineEventHandler, type EventHandler } from "../../src/core/processors.ts";

export interface SwitchableHandler {
  handler: EventHandler;
  /** While true, every event fails. */
  broken: boolean;
  /** The positions handled successfully, in order. */
  readonly handled: bigint[];
}

export function switchableHandler(name: string, eventTypes: string[], message: string): SwitchableHandler {
  const switchable: SwitchableHandler = {
    broken: false,
    handled: [],
    handler: defineEventHandler({
      name,
      eventTypes,
      handle: async (event) => {
        if (switchable.broken) throw new Error(message);
        switchable.handled.push(event.position);
      },
    }),
  };
  return switchable;
}
