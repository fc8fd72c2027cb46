/**
 * Our in-process figure: the gateway driven directly (no HTTP, no GraphQL), the same commands
 * as the GraphQL drivers, waiting for PROCESSED. Runs on its own database, without runners, so
 * it is the command path alone — the same work the Emmett peer does (decide + append), plus our
 * idempotency record and stored results.
 */
import { type App, createApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { accountIds, INITIAL_BALANCE, pick } from "./accounts.ts";
import { serve } from "./ipc.ts";
import { closedLoop, inParallel, type LoadPlan } from "./stats.ts";

let app: App;
let ids: string[] = [];
const tenantId = "default";

serve({
  setup: async (args: { prefix: string; accounts: number }) => {
    // Not started: no HTTP server, no runners, no worker (sync processing needs none).
    app = await createApp({ config: { ...loadConfig(), port: 0 } });
    ids = accountIds(args.prefix, args.accounts);
    await inParallel(ids, 16, async (id) => {
      const result = await app.gateway.sendAndWait({
        aggregateName: "Account",
        type: "CreateAccount",
        input: { name: "bench", initialBalance: INITIAL_BALANCE },
        aggregateId: id,
        tenantId,
      });
      if (!result.succeeded) throw new Error(`creating ${id}: ${result.errorCode}`);
    });
    return { accounts: ids.length, poolSize: app.config.poolSize };
  },
  run: (args: LoadPlan) =>
    closedLoop(args, async (loop, n) => {
      const { id } = pick(ids, args.loops, loop, n);
      const result = await app.gateway.sendAndWait({
        aggregateName: "Account",
        type: "Deposit",
        input: { amount: 1 },
        aggregateId: id,
        tenantId,
      });
      if (!result.succeeded || result.stage !== "PROCESSED") throw new Error(`ended with ${result.errorCode}`);
    }),
});
