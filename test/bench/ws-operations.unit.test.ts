/**
 * The fan-out driver's failure classification (bench/ws-operations.ts): every way graphql-ws
 * hands it a failure keeps the server's code, or names the client-side cause, so that `other`
 * counts only what is truly unexplained. A fake client plays each sink call.
 */
import type { Client, Sink } from "graphql-ws";
import { describe, expect, it } from "vitest";
import { failureOf, first, fullText, type Signal, watchResults } from "../../bench/ws-operations.ts";

/** A client whose every operation plays `script` on its sink. */
const fakeClient = (script: (sink: Sink<unknown>) => void) =>
  ({
    subscribe: (_payload: unknown, sink: Sink<unknown>) => {
      script(sink);
      return () => {};
    },
  }) as unknown as Client;

const signal = (stage: string, succeeded = true, errorCode: string | null = null): Signal => ({
  stage,
  scope: "STAGE",
  signalTime: new Date(0).toISOString(),
  succeeded,
  errorCode,
  errorMsg: errorCode ? `${errorCode} happened` : null,
});

const failureFrom = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: "none: it succeeded" }),
    (error: unknown) => error as { code?: unknown; message: string },
  );

describe("the fan-out driver's failures", () => {
  it("an `error` message (GraphQL errors handed to the sink's error) keeps its code and retry hint", async () => {
    const errors = [{ message: "The database went away", extensions: { code: "UNAVAILABLE" } }];
    expect(failureOf(errors)).toMatchObject({ code: "UNAVAILABLE", message: "The database went away" });
    const overloaded = [{ message: "Too many", extensions: { code: "OVERLOADED", retryAfterMs: 5000 } }];
    const failure = await failureFrom(
      first(
        fakeClient((sink) => sink.error(overloaded)),
        "query",
        {},
      ),
    );
    expect(failure).toMatchObject({ code: "OVERLOADED", retryAfterMs: 5000 });

    const watched = await failureFrom(
      watchResults(
        fakeClient((sink) => {
          sink.next({ data: { commandResults: signal("SENT") } });
          sink.error(errors);
        }),
        "c1",
      ),
    );
    expect(watched).toMatchObject({ code: "UNAVAILABLE" });
  });

  it("errors in a `next` payload keep their code, for the send and for the watch", async () => {
    const next = (sink: Sink<unknown>) => {
      sink.next({ errors: [{ message: "Not found", extensions: { code: "COMMAND_NOT_FOUND" } }] });
      sink.complete();
    };
    expect(await failureFrom(first(fakeClient(next), "query", {}))).toMatchObject({ code: "COMMAND_NOT_FOUND" });
    expect(await failureFrom(watchResults(fakeClient(next), "c1"))).toMatchObject({ code: "COMMAND_NOT_FOUND" });
  });

  it("a socket closed under the operation is named by its close code", async () => {
    const closed = await failureFrom(
      watchResults(
        fakeClient((sink) => sink.error({ code: 4500, reason: "Internal server error" })),
        "c1",
      ),
    );
    expect(closed).toMatchObject({ code: "closed 4500", message: expect.stringMatching(/Internal server error/) });
  });

  it("a failed result counts by its own code; a stream without PROCESSED by that cause", async () => {
    const timedOut = await failureFrom(
      watchResults(
        fakeClient((sink) => {
          sink.next({ data: { commandResults: signal("SENT") } });
          sink.next({ data: { commandResults: signal("SENT", false, "WAIT_TIMEOUT") } });
          sink.complete();
        }),
        "c1",
      ),
    );
    expect(timedOut).toMatchObject({ code: "WAIT_TIMEOUT" });

    const cut = await failureFrom(
      watchResults(
        fakeClient((sink) => {
          sink.next({ data: { commandResults: signal("SENT") } });
          sink.complete();
        }),
        "c1",
      ),
    );
    expect(cut).toMatchObject({ code: "no PROCESSED", message: expect.stringMatching(/SENT\/STAGE/) });
  });

  it("a watch that reaches PROCESSED succeeds; an unexplained failure keeps no code and its full text", async () => {
    const { processed } = await watchResults(
      fakeClient((sink) => {
        sink.next({ data: { commandResults: signal("SENT") } });
        sink.next({ data: { commandResults: signal("PROCESSED") } });
        sink.complete();
      }),
      "c1",
    );
    expect(processed.stage).toBe("PROCESSED");

    const noData = await failureFrom(
      first(
        fakeClient((sink) => sink.complete()),
        "query",
        {},
      ),
    );
    expect(noData.code).toBeUndefined();
    expect(fullText(noData)).toMatch(/^Error: no data/);
    expect(fullText({ odd: true })).toBe('{"odd":true}');
  });
});
