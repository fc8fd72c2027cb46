/**
 * The results of a tenant's recent commands as they are stored: what a live command list needs
 * to keep each command's progress current without re-reading the list. One stream per list,
 * whatever its length: it follows the newest commands when it starts and every command the
 * tenant sends after, by the bus's per-command listeners. Those are what the cross-process
 * signals re-read the store for (a result stored by another process reaches this one too), and
 * what they re-read after a lost signal connection; commands other processes accepted meanwhile
 * are re-read here, as the commands feed does.
 */
import type { CommandResult } from "../core/stages.ts";
import type { ResultBus } from "../gateway/result-bus.ts";
import { logger } from "../logger.ts";
import type { ConsoleQueries } from "../store/console-queries.ts";

export interface ResultsFeedDeps {
  queries: ConsoleQueries;
  bus: ResultBus;
}

export interface ResultsFeedViewer {
  tenantId: string;
  /** With AUTH_RESULTS_SENDER_ONLY: only the chains this subject sent (and those with no recorded sender). */
  sender: string | undefined;
}

/** The most commands one feed follows (a list's worth); past it the oldest are let go. */
export const MAX_FOLLOWED = 200;
/** Results waiting for a slow reader before the oldest are dropped (the list query has them). */
const QUEUE_LIMIT = 2_000;
/** How far back the feed re-reads the store after the signal connection came back. */
const RESYNC_SECONDS = 60;

interface Followed {
  off: () => void;
  /** Whether the viewer may see it: undefined until the store said so (a command just sent). */
  visible: boolean | undefined;
  /** Result IDs already yielded: a re-read delivers a command's results again. */
  seen: Set<string>;
}

/**
 * First the results already stored for the tenant's newest `first` commands, then each new
 * result of those and of every command sent after the feed started, each once, until `signal`
 * aborts. Listeners are in place before the store is read, so nothing falls between the two.
 */
export async function* recentResults(
  deps: ResultsFeedDeps,
  viewer: ResultsFeedViewer,
  first: number,
  signal: AbortSignal,
): AsyncGenerator<CommandResult> {
  const followed = new Map<string, Followed>();
  /** Set once the stream ended, however (aborted or failed): a late re-read may follow nothing then. */
  let ended = false;
  /** Whether a failed visibility check was logged: one line per stream, not one per signal. */
  let checkFailed = false;
  let queue: CommandResult[] = [];
  let wake: (() => void) | undefined;
  /** Counts what woke the stream (results queued, commands followed): what arrived during a read. */
  let stirred = 0;
  const enqueue = (results: readonly CommandResult[]) => {
    queue.push(...results);
    if (queue.length > QUEUE_LIMIT) queue.splice(0, queue.length - QUEUE_LIMIT);
    stirred++;
    wake?.();
  };
  const onResult = (result: CommandResult) => enqueue([result]);
  const follow = (commandIds: readonly string[], visible: boolean | undefined) => {
    if (ended || signal.aborted) return; // a late re-read after the stream ended: nothing may listen on
    for (const commandId of commandIds) {
      if (followed.has(commandId)) continue;
      followed.set(commandId, { off: deps.bus.subscribe(commandId, onResult), visible, seen: new Set() });
      if (followed.size > MAX_FOLLOWED) {
        const [oldest, entry] = followed.entries().next().value as [string, Followed];
        entry.off();
        followed.delete(oldest);
      }
    }
    stirred++;
    wake?.();
  };
  /** Follows these stored commands (the viewer's) and queues what they already reached. */
  const catchUp = async (commandIds: readonly string[]) => {
    follow(commandIds, true);
    const stored = await deps.queries.results(commandIds);
    enqueue([...stored.values()].flat());
  };

  const offs = [
    deps.bus.onSent((sent) => {
      // Without a sender restriction the tenant is the whole check: no store read per command sent.
      if (sent.tenantId === viewer.tenantId) follow([sent.commandId], viewer.sender === undefined ? true : undefined);
    }),
    deps.bus.onResync(() => {
      deps.queries
        .sentSince(viewer.tenantId, RESYNC_SECONDS, MAX_FOLLOWED, viewer.sender)
        .then((commands) => catchUp(commands.map((c) => c.commandId)))
        .catch(() => {}); // The database is away too: the list's own read has them once it is back.
    }),
  ];
  const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  try {
    const newest = await deps.queries.recentCommands(viewer.tenantId, first, undefined, viewer.sender);
    // Oldest first, so that the oldest are the first let go.
    await catchUp(newest.map((c) => c.commandId).reverse());
    while (!signal.aborted) {
      const unchecked = [...followed].filter(([, f]) => f.visible === undefined).map(([id]) => id);
      if (unchecked.length > 0) {
        // The sent signal comes after the command's transaction committed: it is there to read.
        let visible: Set<string>;
        const before = stirred;
        try {
          visible = new Set(
            (await deps.queries.commands(viewer.tenantId, unchecked, viewer.sender)).map((c) => c.commandId),
          );
        } catch (error) {
          // The database is away: the stream stays, and checks again at the next signal or result.
          if (!checkFailed)
            logger.warn({ err: error, tenantId: viewer.tenantId }, "results feed: visibility check failed");
          checkFailed = true;
          // What arrived during the failed read is a signal too: check again at once for it.
          if (stirred === before) {
            await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
            wake = undefined;
          }
          continue;
        }
        checkFailed = false;
        for (const id of unchecked) {
          const entry = followed.get(id);
          if (!entry) continue;
          if (visible.has(id)) entry.visible = true;
          else {
            entry.off();
            followed.delete(id);
          }
        }
        continue;
      }
      if (queue.length === 0) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
        wake = undefined;
        continue;
      }
      const batch = queue;
      queue = [];
      for (const result of batch) {
        const entry = followed.get(result.commandId);
        if (!entry || result.tenantId !== viewer.tenantId || entry.seen.has(result.id)) continue;
        // Followed since the check began: its turn comes after the next check.
        if (entry.visible === undefined) queue.push(result);
        else {
          entry.seen.add(result.id);
          yield result;
        }
      }
    }
  } finally {
    ended = true;
    for (const off of offs) off();
    for (const entry of followed.values()) entry.off();
  }
}
