/** AccountState: an account as its events say it is now (no read model), and the `accountState` query. */
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { Account, type AccountState } from "../account.ts";

interface AccountStateView extends AccountState {
  id: string;
  version: number;
}

export function accountStateType(builder: StagelineBuilder): void {
  const AccountStateRef = builder.objectRef<AccountStateView>("AccountState").implement({
    description: "An account's current state, computed from its events (latest snapshot + later events).",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name"),
      balance: t.exposeInt("balance", { description: "In cents." }),
      locked: t.exposeInt("locked"),
      frozen: t.exposeBoolean("frozen"),
      version: t.exposeInt("version", { description: "The aggregate's version: the number of its events." }),
    }),
  });

  builder.queryField("accountState", (t) =>
    t.field({
      authScopes: { anyRole: ["teller", "auditor"] },
      type: AccountStateRef,
      nullable: true,
      description: "The account as its events say it is now (strongly consistent; no read model involved).",
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, ctx) => {
        const stream = { tenantId: ctx.tenantId, aggregateName: Account.name, aggregateId: String(args.id) };
        const { state, version } = await ctx.aggregates.load(Account, stream);
        return version === 0 ? null : { ...state, id: String(args.id), version };
      },
    }),
  );
}
