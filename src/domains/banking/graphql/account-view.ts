/** AccountView: an account as its read model keeps it, and the `account` and `accounts` queries. */
import { idCursor } from "../../../core/cursor.ts";
import { oneOf } from "../../../core/enums.ts";
import { rowKey } from "../../../core/row-key.ts";
import type { AccountView as AccountViewRow } from "../../../generated/prisma/client.ts";
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { withErrorCodes } from "../../../graphql/errors.ts";
import { keysetConnection } from "../../../graphql/keyset-connection.ts";
import { readAfter, readAfterArgs } from "../../../graphql/read-after.ts";

const accountCursor = idCursor("accounts");
const ACCOUNT_STATUSES = ["ACTIVE", "FROZEN"] as const;

export function accountViewType(builder: StagelineBuilder): void {
  const AccountStatus = builder.enumType("AccountStatus", { values: ACCOUNT_STATUSES });

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
}
