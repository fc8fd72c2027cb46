/**
 * Counts each subscription from the moment its stream starts until it ends — completed, failed,
 * or returned because the client left (a closed socket, an aborted SSE stream) — labelled by
 * its root field and transport. Envelop's own onEnd misses a stream whose next() rejects, so the
 * stream is wrapped here and every way out releases the count exactly once.
 */
import { getOperationAST } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { LiveSubscriptions } from "../../ops/live-subscriptions.ts";

export function useLiveSubscriptions(live: () => LiveSubscriptions): Plugin {
  return {
    onSubscribe: () => ({
      onSubscribeResult: ({ args, result, setResult }) => {
        if (!isAsyncIterable(result)) return; // refused before a stream started: nothing live
        const operation = getOperationAST(args.document, args.operationName);
        const field = operation?.selectionSet.selections.find((s) => s.kind === "Field");
        const name = field?.kind === "Field" ? field.name.value : "unknown";
        // Yoga builds an HTTP (SSE) operation's context on its own, with the Fetch `request` in it;
        // a graphql-ws operation's context is the one src/graphql/server.ts returns, without it.
        const transport = "request" in (args.contextValue as object) ? "sse" : "ws";
        const release = live().opened(name, transport);
        setResult(counted(result, release));
      },
    }),
  };
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterableIterator<T> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

function counted<T>(source: AsyncIterableIterator<T>, release: () => void): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const step = await iterator.next();
        if (step.done) release();
        return step;
      } catch (error) {
        release();
        throw error;
      }
    },
    async return(value?: unknown) {
      release();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      release();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
}
