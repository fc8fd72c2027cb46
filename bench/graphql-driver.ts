/**
 * A client process driving the app over GraphQL (HTTP): creates its own accounts, then runs
 * closed loops of one kind of command, each waiting for its stage.
 */
import { randomUUID } from "node:crypto";
import { accountIds, INITIAL_BALANCE, pick } from "./accounts.ts";
import {
  CREATE_ACCOUNT,
  DEPOSIT,
  expectStage,
  graphqlClient,
  type MutationResult,
  TRANSFER,
} from "./graphql-client.ts";
import { serve } from "./ipc.ts";
import { closedLoop, inParallel, type LoadPlan } from "./stats.ts";

export type GraphQLScenario = "SENT" | "PROCESSED" | "PROJECTED" | "SAGA_CHAIN";

let post: ReturnType<typeof graphqlClient>;
let ids: string[] = [];

serve({
  setup: async (args: { url: string; prefix: string; accounts: number }) => {
    post = graphqlClient(args.url);
    ids = accountIds(args.prefix, args.accounts);
    await inParallel(ids, 16, async (id) => {
      const data = await post<{ createAccount: { succeeded: boolean; errorCode: string } }>(CREATE_ACCOUNT, {
        id,
        balance: INITIAL_BALANCE,
      });
      if (!data.createAccount.succeeded) throw new Error(`creating ${id}: ${data.createAccount.errorCode}`);
    });
    return { accounts: ids.length };
  },
  run: (args: LoadPlan & { scenario: GraphQLScenario }) =>
    closedLoop(args, async (loop, n) => {
      const { id, next } = pick(ids, args.loops, loop, n);
      if (args.scenario === "SAGA_CHAIN") {
        const data = await post<{ prepareTransfer: MutationResult }>(TRANSFER, {
          id,
          to: next,
          transferId: randomUUID(),
        });
        expectStage(data.prepareTransfer, "SAGA_HANDLED");
        return;
      }
      const data = await post<{ deposit: MutationResult }>(DEPOSIT, { id, stage: args.scenario });
      expectStage(data.deposit, args.scenario);
    }),
});
