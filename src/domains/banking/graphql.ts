/**
 * The banking context's read side in GraphQL: the read models through the Pothos Prisma
 * plugin (with read-your-writes), and the strongly consistent aggregate state.
 */

import { idCursor } from "../../core/cursor.ts";
import { oneOf } from "../../core/enums.ts";
import { rowKey } from "../../core/row-key.ts";
import type { AccountView as AccountViewRow } from "../../generated/prisma/client.ts";
import type { StagelineBuilder } from "../../graphql/builder.ts";
import { withErrorCodes } from "../../graphql/errors.ts";
import { keysetConnection } from "../../graphql/keyset-connection.ts";
import { readAfter, readAfterArgs } from "../../graphql/read-after.ts";
import { Account, type AccountState } from "./account.ts";

const accountCursor = idCursor("accounts");

interface AccountStateView extends AccountState {
  id: string;
  version: number;
}

const ACCOUNT_STATUSES = ["ACTIVE", "FROZEN"] as const;
const TRANSFER_STATUSES = ["PREPARED", "COMPLETED", "FAILED"] as const;

export function bankingSchema(builder: StagelineBuilder): void {
  const AccountStatus = builder.enumType("AccountStatus", { values: ACCOUNT_STATUSES });
  const TransferStatus = builder.enumType("TransferStatus", { values: TRANSFER_STATUSES });

  const AccountView = builder.prismaObject("AccountView", {
    description: "An account as the AccountView projection keeps it.",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name"),
      balance: t.exposeInt("balance", { description: "In cents, including locked money." }),
      locked: t.exposeInt("locked", { description: "Held for outgoing transfers not yet confirmed." }),
      available: t.int({ description: "balance − locked", resolve: (a) => a.balance - a.locked }),
      status: t.field({ type: AccountStatus, resolve: (a) => oneOf(ACCOUNT_STATUSES, a.status) }),
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
      status: t.field({ type: TransferStatus, resolve: (x) => oneOf(TRANSFER_STATUSES, x.status) }),
      reason: t.exposeString("reason", { nullable: true }),
      createdAt: t.field({ type: "DateTime", resolve: (x) => x.createdAt }),
      updatedAt: t.field({ type: "DateTime", resolve: (x) => x.updatedAt }),
    }),
  });

  builder.queryField("account", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["teller", "auditor"] },
      type: AccountView,
      nullable: true,
      description: "An account from its read model.",
      args: { id: t.arg.id({ required: true }), ...readAfterArgs(t) },
      resolve: async (query, _root, args, ctx) => {
        await readAfter(ctx, args);
        return ctx.prisma.accountView.findUnique({ ...query, where: { key: rowKey(ctx.tenantId, String(args.id)) } });
      },
    }),
  );

  builder.queryField("accounts", (t) =>
    t.connection({
      authScopes: { anyRole: ["teller", "auditor"] },
      type: AccountView,
      description: "Accounts by ID, optionally of one status (a cursor is valid for its tenant only: INVALID_CURSOR).",
      args: { status: t.arg({ type: AccountStatus }), ...readAfterArgs(t) },
      resolve: withErrorCodes(async (_root, args, ctx) => {
        await readAfter(ctx, args);
        // Keyset on the row key (indexed): the cursor holds the ID, turned back into its key here.
        const keyOf = (id: string) => rowKey(ctx.tenantId, id);
        return keysetConnection({
          args,
          tenantId: ctx.tenantId,
          codec: accountCursor,
          valueOf: (row: AccountViewRow) => row.id,
          defaultSize: 20,
          maxSize: 100,
          page: ({ after, before, limit, inverted }) =>
            ctx.prisma.accountView.findMany({
              where: {
                tenantId: ctx.tenantId,
                ...(args.status ? { status: args.status } : {}),
                key: {
                  ...(after !== undefined ? { gt: keyOf(after) } : {}),
                  ...(before !== undefined ? { lt: keyOf(before) } : {}),
                },
              },
              orderBy: { key: inverted ? "desc" : "asc" },
              take: limit,
            }),
        });
      }),
    }),
  );

  builder.queryField("transfer", (t) =>
    t.prismaField({
      authScopes: { anyRole: ["teller", "auditor"] },
      type: TransferView,
      nullable: true,
      description:
        "The latest transfer with this ID. Transfer IDs are unique only among an account's pending transfers: give `sourceAccountId` to pick that account's.",
      args: { id: t.arg.id({ required: true }), sourceAccountId: t.arg.id(), ...readAfterArgs(t) },
      resolve: async (query, _root, args, ctx) => {
        await readAfter(ctx, args);
        return ctx.prisma.transferView.findFirst({
          ...query,
          where: {
            tenantId: ctx.tenantId,
            id: String(args.id),
            ...(args.sourceAccountId != null ? { sourceAccountId: String(args.sourceAccountId) } : {}),
          },
          orderBy: { preparedPosition: "desc" },
        });
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
