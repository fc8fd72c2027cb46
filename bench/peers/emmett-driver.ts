/**
 * The peer: the same Account decider (src/domains/banking/account.ts) run through Emmett's
 * PostgreSQL event store, in-process (no HTTP), with the same accounts, commands, concurrency
 * and pool size as our in-process gateway driver. Benchmark-only: Emmett is installed into
 * bench/peers by the bench script and never imported by the app. Nothing here is copied from it;
 * it only calls its public API (CommandHandler, getPostgreSQLEventStore).
 */
import { CommandHandler } from "@event-driven-io/emmett";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import pg from "pg";
import { newId } from "../../src/core/ids.ts";
import { Account, type AccountEvent, type AccountState } from "../../src/domains/banking/account.ts";
import { accountIds, INITIAL_BALANCE, pick } from "../accounts.ts";
import { serve } from "../ipc.ts";
import { closedLoop, inParallel, type LoadPlan } from "../stats.ts";

type Store = ReturnType<typeof getPostgreSQLEventStore>;
let store: Store;
let ids: string[] = [];

const handle = CommandHandler<AccountState, AccountEvent>({
  evolve: Account.evolve,
  initialState: Account.initialState,
  mapToStreamId: (id: string) => `Account-${id}`,
});

/** Validates like our gateway (the command's zod schema), then lets the decider decide. */
function decide(id: string, type: "CreateAccount" | "Deposit", input: unknown) {
  const data = Account.commands[type].input.parse(input);
  const metadata = { commandId: newId(), tenantId: "default", aggregateId: id, header: {}, createdAt: new Date() };
  return (state: AccountState) => {
    const events = Account.decide({ type, data, metadata } as never, state);
    return (Array.isArray(events) ? [...events] : [events]) as AccountEvent[];
  };
}

serve({
  setup: async (args: { url: string; prefix: string; accounts: number; poolSize: number }) => {
    const pool = new pg.Pool({ connectionString: args.url, max: args.poolSize });
    store = getPostgreSQLEventStore(args.url, { connectionOptions: { pool } });
    await store.schema.migrate();
    ids = accountIds(args.prefix, args.accounts);
    await inParallel(ids, 16, async (id) => {
      await handle(store, id, decide(id, "CreateAccount", { name: "bench", initialBalance: INITIAL_BALANCE }));
    });
    return { accounts: ids.length, version: "0.42.0" };
  },
  run: (args: LoadPlan) =>
    closedLoop(args, async (loop, n) => {
      const { id } = pick(ids, args.loops, loop, n);
      await handle(store, id, decide(id, "Deposit", { amount: 1 }));
    }),
});
