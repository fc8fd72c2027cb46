/**
 * An event handler the test (or bench) holds shut and opens, so that a command's EVENT_HANDLED
 * stage is reached exactly when it says: the signal tests and the scale-out bench time or
 * observe what follows the release, never a sleep.
 */
import { defineContext } from "../../../src/core/context.ts";
import { defineEventHandler } from "../../../src/core/processors.ts";

export function gatedHandler() {
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => undefined;
  const context = defineContext({
    name: "gated",
    aggregates: [],
    processors: [
      defineEventHandler({
        name: "Handler",
        eventTypes: ["MoneyDeposited"],
        handle: async () => {
          await gate;
        },
      }),
    ],
  });
  return {
    context,
    /** Deposits handled from now on wait until `open`. */
    hold: () => {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    open: () => release(),
  };
}
