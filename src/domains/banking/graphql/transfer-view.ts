/** TransferView: a transfer as its read model keeps it, and the `transfer` query. */
import { oneOf } from "../../../core/enums.ts";
import type { StagelineBuilder } from "../../../graphql/builder.ts";
import { readAfter, readAfterArgs } from "../../../graphql/read-after.ts";

const TRANSFER_STATUSES = ["PREPARED", "COMPLETED", "FAILED"] as const;

export function transferViewType(builder: StagelineBuilder): void {
  const TransferStatus = builder.enumType("TransferStatus", { values: TRANSFER_STATUSES });

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
}
