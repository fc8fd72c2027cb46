// One recentCommandResults subscription for the whole page: the results of the tenant's recent
// commands and of every command sent after, as they are stored. The list keeps its dots current
// with it, the chain view its timelines; neither re-reads the store on a timer.
import { subscribe } from "./api.js";
import { RESULT_FIELDS } from "./stages.js";

/** As many as the list shows: the server follows these from the start, and every new one. */
export const FOLLOWED = 50;
const RESULTS = `subscription Results { recentCommandResults(first: ${FOLLOWED}) { ${RESULT_FIELDS} } }`;
/** How long after a failed stream (the server's database away) the page subscribes again. */
export const RETRY_MS = 2_000;

const listeners = new Set();
let stop;
let retry;

/** Subscribes (once for the page); `resubscribed` after a failure: listeners re-read what they missed. */
function start(resubscribed) {
  if (stop || listeners.size === 0) return;
  const handle = subscribe(
    RESULTS,
    {},
    {
      next: ({ recentCommandResults }) => {
        for (const l of listeners) l.next(recentCommandResults);
      },
      error: (e) => {
        // The stream is over: without clearing the handle the page would never follow again.
        if (stop === handle) stop = undefined;
        for (const l of listeners) l.error?.(e);
        clearTimeout(retry);
        retry = setTimeout(() => {
          retry = undefined;
          start(true);
        }, RETRY_MS);
      },
      complete: () => {
        if (stop === handle) stop = undefined;
      },
    },
  );
  stop = handle;
  if (resubscribed) for (const l of listeners) l.resync?.();
}

/**
 * Calls `next` with each result, `error` with a failure, and `resync` once the stream is back
 * after one (results stored meanwhile were not carried: re-read them); returns the function that stops it.
 */
export function onRecentResult(next, error, resync) {
  const listener = { next, error, resync };
  listeners.add(listener);
  start(false);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      clearTimeout(retry);
      retry = undefined;
      stop?.();
      stop = undefined;
    }
  };
}
