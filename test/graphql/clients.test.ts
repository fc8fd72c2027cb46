/**
 * The API through real clients on a real port: graphql-ws, Apollo Client 4 (HTTP + graphql-ws),
 * urql (fetch + graphql-ws) and graphql-sse. Each sends commands, follows them with the
 * `commandResults` subscription and reads the account back.
 */
import { ApolloClient, gql, HttpLink, InMemoryCache, split } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { fetchExchange, subscriptionExchange, Client as UrqlClient } from "@urql/core";
import { createClient as createSseClient } from "graphql-sse";
import { firstValueFrom, toArray } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNT_STATE,
  type AccountView,
  COMMAND_RESULTS,
  CREATE_ACCOUNT,
  DEPOSIT,
  eventsOf,
  type ResultView,
  type TestApp,
  useTestApp,
  WITHDRAW,
  wsClientOf,
} from "../support/app.ts";
import { engines } from "../support/databases.ts";

type Data = Record<string, unknown>;
type Variables = Record<string, unknown>;

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}

/** One client, seen through the three things the tests do with it. */
interface Driver {
  /** A mutation or query: its data, or a thrown error when the response carries errors. */
  request(document: string, variables: Variables): Promise<Data>;
  /** A subscription, to its end: every payload's data, in order. */
  subscribe(document: string, variables: Variables): Promise<Data[]>;
  close(): Promise<void>;
}

const failWith = (errors: readonly FormattedError[]): never => {
  throw new Error(`GraphQL errors: ${JSON.stringify(errors)}`);
};

/** A driver over a client that streams every operation (graphql-ws and graphql-sse share this shape). */
function streamingDriver(
  iterate: (request: { query: string; variables: Variables }) => AsyncIterable<{ data?: unknown; errors?: unknown }>,
  close: () => Promise<void>,
): Driver {
  const all = async (document: string, variables: Variables) => {
    const out: Data[] = [];
    for await (const result of iterate({ query: document, variables })) {
      if (result.errors) failWith(result.errors as FormattedError[]);
      out.push(result.data as Data);
    }
    return out;
  };
  return {
    async request(document, variables) {
      const results = await all(document, variables);
      expect(results).toHaveLength(1);
      return results[0]!;
    },
    subscribe: all,
    close,
  };
}

function graphqlWsDriver(testApp: TestApp): Driver {
  const client = wsClientOf(testApp);
  return streamingDriver(
    (request) => client.iterate(request),
    () => client.dispose() as Promise<void>,
  );
}

function sseDriver(testApp: TestApp): Driver {
  const client = createSseClient({ url: testApp.url, singleConnection: false, retryAttempts: 0 });
  return streamingDriver(
    (request) => client.iterate(request),
    async () => client.dispose(),
  );
}

function apolloDriver(testApp: TestApp): Driver {
  const wsClient = wsClientOf(testApp);
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(wsClient),
    new HttpLink({ uri: testApp.url }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return {
    async request(document, variables) {
      const query = gql(document);
      const definition = getMainDefinition(query);
      const isMutation = definition.kind === "OperationDefinition" && definition.operation === "mutation";
      const { data } = isMutation
        ? await client.mutate({ mutation: query, variables })
        : await client.query({ query, variables, fetchPolicy: "no-cache" });
      return data as Data;
    },
    async subscribe(document, variables) {
      const values = await firstValueFrom(client.subscribe({ query: gql(document), variables }).pipe(toArray()));
      return values.map(({ data, error }) => {
        if (error) throw error;
        return data as Data;
      });
    },
    async close() {
      client.stop();
      await wsClient.dispose();
    },
  };
}

function urqlDriver(testApp: TestApp): Driver {
  const wsClient = wsClientOf(testApp);
  const client = new UrqlClient({
    url: testApp.url,
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return { subscribe: (sink) => ({ unsubscribe: wsClient.subscribe(input, sink) }) };
        },
      }),
    ],
  });
  return {
    async request(document, variables) {
      const isMutation = /^\s*mutation\b/.test(document);
      const result = isMutation
        ? await client.mutation(document, variables).toPromise()
        : await client.query(document, variables, { requestPolicy: "network-only" }).toPromise();
      if (result.error) throw result.error;
      return result.data as Data;
    },
    subscribe(document, variables) {
      // Without importing wonka: urql's source has `.subscribe(onResult)`, and when the stream
      // completes urql emits the last result once more with `hasNext: false`, which marks the end.
      return new Promise<Data[]>((resolve, reject) => {
        const out: Data[] = [];
        const { unsubscribe } = client.subscription(document, variables).subscribe((result) => {
          if (result.error) {
            queueMicrotask(unsubscribe);
            reject(result.error);
          } else if (result.hasNext === false) {
            queueMicrotask(unsubscribe);
            resolve(out);
          } else {
            out.push(result.data as Data);
          }
        });
      });
    },
    async close() {
      await wsClient.dispose();
    },
  };
}

const clients = {
  "graphql-ws": graphqlWsDriver,
  "Apollo Client (HTTP + graphql-ws)": apolloDriver,
  "urql (fetch + graphql-ws)": urqlDriver,
  "graphql-sse (distinct connections)": sseDriver,
} as const;

const stagesOf = (results: ResultView[]) => results.map((r) => r.stage);

describe.each(engines)("real GraphQL clients on %s", (engine) => {
  const testApp = useTestApp(engine);

  describe.each(Object.keys(clients) as (keyof typeof clients)[])("%s", (clientName) => {
    let driver: Driver;
    beforeAll(() => {
      driver = clients[clientName](testApp);
    });
    afterAll(async () => {
      await driver?.close();
    });

    const create = async (name: string, initialBalance?: number, command?: Variables) =>
      (await driver.request(CREATE_ACCOUNT, { name, initialBalance, command })).createAccount as ResultView;
    /** A deposit or withdrawal on the account, waited for to PROCESSED. */
    const move = async (field: "deposit" | "withdraw", aggregateId: string, amount: number) =>
      (
        await driver.request(field === "deposit" ? DEPOSIT : WITHDRAW, {
          amount,
          command: { aggregateId, waitFor: { stage: "PROCESSED" } },
        })
      )[field] as ResultView;
    const results = async (commandId: string) =>
      (await driver.subscribe(COMMAND_RESULTS, { id: commandId })).map((d) => d.commandResults as ResultView);
    const accountState = async (id: string) =>
      (await driver.request(ACCOUNT_STATE, { id })).accountState as AccountView | null;

    it("sends a command, follows it from SENT to PROCESSED, then updates the same aggregate", async () => {
      const sent = await create(`${clientName} holder`);
      expect(sent).toMatchObject({ stage: "SENT", succeeded: true, errorCode: "Ok", aggregateVersion: null });
      expect(sent.commandId).toMatch(/^[0-9a-f-]{36}$/);
      expect(sent.aggregateId).toBeTruthy();

      const stream = await results(sent.commandId);
      expect(stagesOf(stream)).toEqual(["SENT", "PROCESSED"]);
      expect(stream.every((r) => r.commandId === sent.commandId)).toBe(true);
      expect(stream[1]).toMatchObject({ aggregateId: sent.aggregateId, aggregateVersion: 1, succeeded: true });

      const deposit = await move("deposit", sent.aggregateId, 250);
      expect(deposit).toMatchObject({
        stage: "PROCESSED",
        succeeded: true,
        errorCode: "Ok",
        aggregateId: sent.aggregateId,
        aggregateVersion: 2,
      });
      expect(deposit.commandId).not.toBe(sent.commandId);

      expect(await accountState(sent.aggregateId)).toMatchObject({
        id: sent.aggregateId,
        name: `${clientName} holder`,
        balance: 250,
        frozen: false,
        version: 2,
      });
      expect(await eventsOf(testApp, sent.aggregateId)).toEqual([
        { type: "AccountCreated", version: 1 },
        { type: "MoneyDeposited", version: 2 },
      ]);
    });

    it("replays SENT and PROCESSED to a subscriber that arrives after processing", async () => {
      const processed = await create("late subscriber", 10, { waitFor: { stage: "PROCESSED" } });
      expect(processed).toMatchObject({ stage: "PROCESSED", succeeded: true, aggregateVersion: 1 });

      const stream = await results(processed.commandId);
      expect(stagesOf(stream)).toEqual(["SENT", "PROCESSED"]);
      expect(stream[1]).toMatchObject({ id: processed.id, aggregateVersion: 1, succeeded: true });
    });

    it("reports a refused command as a result (succeeded false, domain code), not as an error", async () => {
      const created = await create("small balance", 100, { waitFor: { stage: "PROCESSED" } });
      const refused = await move("withdraw", created.aggregateId, 500);
      expect(refused).toMatchObject({
        stage: "PROCESSED",
        succeeded: false,
        errorCode: "INSUFFICIENT_BALANCE",
        aggregateId: created.aggregateId,
      });
      expect(refused.errorMsg).toMatch(/100/);

      const stream = await results(refused.commandId);
      expect(stagesOf(stream)).toEqual(["SENT", "PROCESSED"]);
      expect(stream[1]).toMatchObject({ succeeded: false, errorCode: "INSUFFICIENT_BALANCE" });

      expect(await accountState(created.aggregateId)).toMatchObject({ balance: 100, version: 1 });
      expect(await eventsOf(testApp, created.aggregateId)).toEqual([{ type: "AccountCreated", version: 1 }]);
    });

    it("answers accountState with null for an account that does not exist", async () => {
      expect(await accountState("no-such-account")).toBeNull();
    });
  });
});
