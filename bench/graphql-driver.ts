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
  TRANSFER_PROCESSED,
} from "./graphql-client.ts";
import { serve } from "./ipc.ts";
import { closedLoop, inParallel, type LoadPlan } from "./stats.ts";

/** CEILING: the same deposit document sent to the bare Yoga server (bench/transport-ceiling.ts). */
/** TRANSFER_PROCESSED: transfers answered at PROCESSED, leaving the saga to keep up (saga lag). */
export type GraphQLScenario = "SENT" | "PROCESSED" | "PROJECTED" | "SAGA_CHAIN" | "CEILING" | "TRANSFER_PROCESSED";

let post: ReturnType<typeof graphqlClient>;
let ceiling: ReturnType<typeof graphqlClient> | undefined;
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
  /** Where the bare transport ceiling listens. */
  ceiling: (args: { url: string }) => {
    ceiling = graphqlClient(args.url);
    return {};
  },
  run: (args: LoadPlan & { scenario: GraphQLScenario }) =>
    closedLoop(args, async (loop, n) => {
      const { id, next } = pick(ids, args.loops, loop, n);
      if (args.scenario === "SAGA_CHAIN" || args.scenario === "TRANSFER_PROCESSED") {
        const chain = args.scenario === "SAGA_CHAIN";
        const data = await post<{ prepareTransfer: MutationResult }>(chain ? TRANSFER : TRANSFER_PROCESSED, {
          id,
          to: next,
          transferId: randomUUID(),
        });
        expectStage(data.prepareTransfer, chain ? "SAGA_HANDLED" : "PROCESSED");
        return;
      }
      if (args.scenario === "CEILING") {
        if (!ceiling) throw new Error("the transport ceiling was not set up");
        const data = await ceiling<{ deposit: MutationResult }>(DEPOSIT, { id, stage: "PROCESSED" });
        expectStage(data.deposit, "PROCESSED");
        return;
      }
      const data = await post<{ deposit: MutationResult }>(DEPOSIT, { id, stage: args.scenario });
      expectStage(data.deposit, args.scenario);
    }),
});
