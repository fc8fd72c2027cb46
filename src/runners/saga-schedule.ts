/**
 * The order a saga's reactions run in within one batch. Reactions to different events run
 * concurrently (a saga waiting for each command before the next event fell thousands of events
 * behind under load), but a reaction starts only after every earlier reaction of the batch that
 * shares an aggregate with it has finished: per aggregate, log order holds. Dependencies only
 * ever point to earlier items, so nothing can wait in a circle. A failed item fails the items
 * queued behind it on its keys (they are not run: their order would break when the batch is
 * retried); independent items run on, and the batch rejects once everything has settled.
 */

/** Runs tasks with at most `limit` at once, in the order they asked. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * The last item started on each key. Shared by the batches a pipelined saga runs at once
 * (runner.ts), so an item of the next batch also waits for the earlier batch's items on its keys.
 */
export type KeyTails = Map<string, Promise<unknown>>;

export interface KeyedItem<T> {
  /** The aggregates the item touches: it runs after every earlier item that shares one. */
  keys: readonly string[];
  run(): Promise<T>;
}

/**
 * Runs the items (given in log order, possibly still being prepared) as concurrently as their
 * keys and `limiter` allow, and resolves with their results in that order once all have
 * succeeded; else rejects with the first failure, in log order, after every started item settled.
 * A failure while preparing an item stops the scheduling of later ones.
 */
export async function runInKeyOrder<T>(
  items: readonly Promise<KeyedItem<T>>[],
  limiter: Limiter,
  tails: KeyTails = new Map(),
): Promise<T[]> {
  const started: Promise<T>[] = [];
  let prepareFailure: { error: unknown } | undefined;
  for (const pending of items) {
    let item: KeyedItem<T>;
    try {
      item = await pending;
    } catch (error) {
      prepareFailure = { error };
      break;
    }
    const keys = [...new Set(item.keys)];
    const before = keys.flatMap((key) => tails.get(key) ?? []);
    const task = Promise.all(before).then(() => limiter.run(() => item.run()));
    // Handled here at once (and awaited below), so a failure never goes unhandled meanwhile.
    task.catch(() => {});
    for (const key of keys) tails.set(key, task);
    // A key's entry lives only while its last item runs (a shared map would grow without bound).
    void task
      .catch(() => {})
      .finally(() => {
        for (const key of keys) if (tails.get(key) === task) tails.delete(key);
      });
    started.push(task);
  }
  // The items never reached: their preparation may still fail, and nobody else will look.
  for (const pending of items) pending.catch(() => {});
  const settled = await Promise.allSettled(started);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  if (prepareFailure) throw prepareFailure.error;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
