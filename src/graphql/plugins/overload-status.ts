/**
 * An HTTP request refused only for overload (every error OVERLOADED, no field answered) is
 * answered 503 with `Retry-After`, so proxies, load balancers and plain HTTP clients back off
 * without reading the body; the body still carries the code and `retryAfterMs`. A response with
 * any other error, or with data, keeps GraphQL's status. HTTP only: Yoga reads and strips the
 * result's `http` extension when it writes an HTTP response; graphql-ws answers in the result.
 */
import type { ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import { CoreCode } from "../../core/errors.ts";

export function useOverloadStatus(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as ExecutionResult;
      const errors = single.errors ?? [];
      if (errors.length === 0 || !errors.every((e) => e.extensions?.code === CoreCode.OVERLOADED)) return;
      if (single.data && Object.values(single.data).some((value) => value !== null)) return;
      const retryAfterMs = Math.max(...errors.map((e) => Number(e.extensions?.retryAfterMs) || 0));
      setResult({
        ...single,
        extensions: {
          ...single.extensions,
          http: { status: 503, headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
        },
      });
    },
  };
}
