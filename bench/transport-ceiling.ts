/**
 * The transport's own ceiling: a bare graphql-yoga server (no Stageline, no database) that
 * answers the same `deposit` document the GraphQL drivers send, with a constant result. Driven by
 * the same client processes in the same run, it gives what Yoga alone allows on this machine, so
 * every GraphQL figure can also be read as a share of that ceiling.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createSchema, createYoga } from "graphql-yoga";
import { serve } from "./ipc.ts";

// The subset of Stageline's schema the deposit document touches, so the documents are identical.
const schema = createSchema({
  typeDefs: /* GraphQL */ `
    enum Stage { SENT PROCESSED SNAPSHOT PROJECTED EVENT_HANDLED SAGA_HANDLED }
    input DepositInput { amount: Int! }
    input WaitForInput { stage: Stage! }
    input CommandOptions { aggregateId: ID waitFor: WaitForInput }
    type Result { commandId: ID! stage: Stage! succeeded: Boolean! errorCode: String! }
    type Query { ok: Boolean! }
    type Mutation { deposit(input: DepositInput!, command: CommandOptions): Result! }
  `,
  resolvers: {
    Query: { ok: () => true },
    Mutation: {
      deposit: (_: unknown, args: { command?: { waitFor?: { stage: string } } }) => ({
        commandId: "00000000-0000-7000-8000-000000000000",
        stage: args.command?.waitFor?.stage ?? "SENT",
        succeeded: true,
        errorCode: "Ok",
      }),
    },
  },
});

const yoga = createYoga({ schema, logging: false, graphiql: false, maskedErrors: true });
const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;

serve({
  url: () => ({ url: `http://127.0.0.1:${port}/graphql`, pid: process.pid }),
});

process.once("SIGTERM", () => server.close(() => process.exit(0)));
