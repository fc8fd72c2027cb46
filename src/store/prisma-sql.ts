/**
 * Raw SQL through a Prisma transaction client, so the runner's own writes (checkpoint, signals,
 * snapshots) share the transaction in which a projection writes its read models.
 */
import type { Prisma } from "../generated/prisma/client.ts";
import type { SqlExecutor } from "./sql.ts";

export const prismaSqlExecutor = (tx: Prisma.TransactionClient): SqlExecutor => ({
  async query<Row>(text: string, params: readonly unknown[] = []) {
    return (await tx.$queryRawUnsafe(text, ...params)) as Row[];
  },
  async exec(script: string) {
    await tx.$executeRawUnsafe(script);
  },
});
