/**
 * The command gateway as one credential sees it: every wait (a mutation waiting past SENT, a
 * `commandResults` subscription or query wait) takes a slot of the credential's WaitSlots for as
 * long as it runs, and asks for no longer than WAIT_MAX_TIMEOUT_MS. Refused before anything is
 * stored. A view over the shared gateway (prototype), so everything else is the gateway's own.
 */
import type { CommandGateway, Wait } from "../gateway/gateway.ts";
import { checkTimeout, type WaitSlots } from "./limits.ts";

export function limitWaits(
  gateway: CommandGateway,
  limits: { slots: WaitSlots; key: string; maxTimeoutMs: number },
): CommandGateway {
  const take = (wait: Wait | undefined) => {
    checkTimeout(wait?.timeoutMs, limits.maxTimeoutMs);
    return limits.slots.acquire(limits.key);
  };
  const view = Object.create(gateway) as CommandGateway;
  view.send = async (request, wait) => {
    if (!wait || wait.stage === "SENT") return gateway.send(request, wait);
    const release = take(wait);
    try {
      const sent = await gateway.send(request, wait);
      return { ...sent, results: releasing(sent.results, release) };
    } catch (error) {
      release();
      throw error;
    }
  };
  view.results = async (tenantId, commandId, wait) => {
    const release = take(wait);
    try {
      return releasing(await gateway.results(tenantId, commandId, wait), release);
    } catch (error) {
      release();
      throw error;
    }
  };
  return view;
}

/** The same stream, releasing the slot when it ends or is abandoned. */
function releasing<T>(source: AsyncGenerator<T>, release: () => void): AsyncGenerator<T> {
  const done = <R>(result: Promise<R>) => result.finally(release);
  return {
    next: (...args) =>
      source.next(...args).then(
        (r) => {
          if (r.done) release();
          return r;
        },
        (e: unknown) => {
          release();
          throw e;
        },
      ),
    return: (value) => done(source.return(value)),
    throw: (error) => done(source.throw(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  } as AsyncGenerator<T>;
}
