// One recentCommandResults subscription for the whole page: the results of the tenant's recent
// commands and of every command sent after, as they are stored. The list keeps its dots current
// with it, the chain view its timelines; neither re-reads the store on a timer.
import { subscribe } from "./api.js";
import { RESULT_FIELDS } from "./stages.js";

/** As many as the list shows: the server follows these from the start, and every new one. */
export const FOLLOWED = 50;
const RESULTS = `subscription Results { recentCommandResults(first: ${FOLLOWED}) { ${RESULT_FIELDS} } }`;

const listeners = new Set();
let stop;

/** Calls `next` with each result (and `error` with a failure); returns the function that stops it. */
export function onRecentResult(next, error) {
  const listener = { next, error };
  listeners.add(listener);
  stop ??= subscribe(
    RESULTS,
    {},
    {
      next: ({ recentCommandResults }) => {
        for (const l of listeners) l.next(recentCommandResults);
      },
      error: (e) => {
        for (const l of listeners) l.error?.(e);
      },
      complete: () => {
        stop = undefined;
      },
    },
  );
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      stop?.();
      stop = undefined;
    }
  };
}
