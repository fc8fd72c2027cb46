/**
 * The banking context's read side in GraphQL: the read models through the Pothos Prisma
 * plugin (with read-your-writes), and the strongly consistent aggregate state.
 */
import type { StagelineBuilder } from "../../graphql/builder.ts";
import { Account, type AccountState } from "./account.ts";

interface AccountStateView extends AccountState {
  id: string;
  version: number;
}

export function bankingSchema(builder: StagelineBuilder): void {
  const AccountStatus = builder.enumType("AccountStatus", { values: ["ACTIVE", "FROZEN"] as const });
  const TransferStatus = builder.enumType("TransferStatus", { values: ["PREPARED", "COMPLETED", "FAILED"] as const });

  const AccountView = builder.prismaObject("AccountView", {
    description: "An account as the AccountView projection keeps it.",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name"),
      balance: t.exposeInt("balance", { description: "In cents, including locked money." }),
      locked: t.exposeInt("locked", { description: "Held for outgoing transfers not yet confirmed." }),
      available: t.int({ description: "balance − locked", resolve: (a) => a.balance - a.locked }),
      status: t.field({ type: AccountStatus, resolve: (a) => a.status as "ACTIVE" | "FROZEN" }),
      version: t.exposeInt("version"),
      updatedAt: t.field({ type: "DateTime", resolve: (a) => a.updatedAt }),
    }),
  });

  const TransferView = builder.prismaObject("TransferView", {
    description: "A transfer as the TransferView projection keeps it.",
    fields: (t) => ({
      id: t.exposeID("id"),
      sourceAccountId: t.exposeID("sourceAccountId"),
      targetAccountId: t.exposeID("targetAccountId"),
      amount: t.exposeInt("amount"),
      status: t.field({ type: TransferStatus, resolve: (x) => x.status as "PREPARED" | "COMPLETED" | "FAILED" }),
      reason: t.exposeString("reason", { nullable: true }),
      createdAt: t.field({ type: "DateTime", resolve: (x) => x.createdAt }),
      updatedAt: t.field({ type: "DateTime", resolve: (x) => x.updatedAt }),
    }),
  });

  const readAfterArgs = (t: Parameters<Parameters<StagelineBuilder["queryField"]>[1]>[0]) => ({
    afterCommand: t.arg.id({ description: "Wait (bounded) until the projections have passed this command." }),
    minPosition: t.arg({
      type: "BigInt",
      description: "Wait (bounded) until the projections have passed this log position.",
    }),
  });

  builder.queryField("account", (t) =>
    t.prismaField({
      type: AccountView,
      nullable: true,
      description: "An account from its read model.",
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: async (query, _root, args, ctx) => {
        await ctx.readAfter({
          commandId: args.afterCommand ? String(args.afterCommand) : null,
          position: args.minPosition ?? null,
        });
        return ctx.prisma.accountView.findUnique({ ...query, where: { key: `${ctx.tenantId}:${args.id}` } });
      },
    }),
  );

  builder.queryField("accounts", (t) =>
    t.prismaConnection({
      type: AccountView,
      cursor: "key",
      defaultSize: 20,
      maxSize: 100,
      description: "Accounts, oldest key first, optionally of one status.",
      args: { status: t.arg({ type: AccountStatus }), ...readAfterArgs(t) },
      resolve: async (query, _root, args, ctx) => {
        await ctx.readAfter({
          commandId: args.afterCommand ? String(args.afterCommand) : null,
          position: args.minPosition ?? null,
        });
        return ctx.prisma.accountView.findMany({
          ...query,
          where: { tenantId: ctx.tenantId, ...(args.status ? { status: args.status } : {}) },
          orderBy: { key: "asc" },
        });
      },
    }),
  );

  builder.queryField("transfer", (t) =>
    t.prismaField({
      type: TransferView,
      nullable: true,
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: async (query, _root, args, ctx) => {
        await ctx.readAfter({
          commandId: args.afterCommand ? String(args.afterCommand) : null,
          position: args.minPosition ?? null,
        });
        return ctx.prisma.transferView.findUnique({ ...query, where: { key: `${ctx.tenantId}:${args.id}` } });
      },
    }),
  );

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
      type: AccountStateRef,
      nullable: true,
      description: "The account as its events say it is now (strongly consistent; no read model involved).",
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, ctx) => {
        const stream = { tenantId: ctx.tenantId, aggregateName: Account.name, aggregateId: String(args.id) };
        const { state, version } = await ctx.aggregates.load(Account, stream);
        return version === 0 ? null : { ...(state as AccountState), id: String(args.id), version };
      },
    }),
  );
}
