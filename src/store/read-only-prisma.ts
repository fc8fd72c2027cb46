/**
 * The database client a saga's read-model lookups get: Prisma's model delegates with their read
 * methods only. A saga decides and sends commands; a write of its own would bypass the log, so
 * writes (and raw SQL, which could write) are not in the type, and throw if reached anyway.
 */
import { ReadOnlyViolation } from "../core/errors.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";

const READS = [
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "count",
  "aggregate",
  "groupBy",
] as const;
type Read = (typeof READS)[number];
const isRead = (name: string | symbol): name is Read => (READS as readonly (string | symbol)[]).includes(name);

type ModelName = Exclude<keyof PrismaClient, `$${string}` | symbol>;

/** Every model of the client, each with its read methods only. */
export type ReadOnlyPrisma = { readonly [M in ModelName]: Pick<PrismaClient[M], Read & keyof PrismaClient[M]> };

export function readOnlyPrisma(prisma: PrismaClient): ReadOnlyPrisma {
  const client = prisma as unknown as Record<string, Record<string, (...args: unknown[]) => unknown> | undefined>;
  return new Proxy({} as ReadOnlyPrisma, {
    get(_, model) {
      if (typeof model !== "string" || model.startsWith("$")) {
        throw new ReadOnlyViolation(`A read-model lookup may only use model delegates, not ${String(model)}`);
      }
      const delegate = client[model];
      if (!delegate) return undefined;
      return new Proxy(
        {},
        {
          get(__, method) {
            if (!isRead(method)) {
              throw new ReadOnlyViolation(`A read-model lookup may only read: ${model}.${String(method)} is refused`);
            }
            return delegate[method]!.bind(delegate);
          },
        },
      );
    },
  });
}
