/**
 * What the child-process tests wait for in the lease table: every process holding a share, and
 * a survivor taking a processor's lease over in a new epoch. Read from the database, as another
 * process would see it.
 */
import type { LeaseStore } from "../../../src/store/lease-store.ts";
import { waitUntil } from "../../support/eventually.ts";
import { type Child, pidOf } from "./children.ts";

type Holder = Awaited<ReturnType<LeaseStore["holders"]>>[number];

/** The holder of one processor's lease (every processor has a row once the processes started). */
export const holderOf = async (leases: LeaseStore, processorId: string): Promise<Holder> =>
  (await leases.holders()).find((h) => h.processorId === processorId)!;

/** Waits until each of the processes holds a live lease. */
export async function untilEachHoldsALease(leases: LeaseStore, processes: readonly Child[]): Promise<void> {
  await waitUntil(
    "every process holds leases",
    async () => {
      const owners = new Set((await leases.holders()).filter((h) => h.live).map((h) => pidOf(h.owner)));
      return processes.every((p) => owners.has(p.pid));
    },
    { timeoutMs: 60_000 },
  );
}

/** Waits until `survivor` holds the processor's lease, live, in an epoch after `before`'s. */
export async function untilTakenOver(
  leases: LeaseStore,
  processorId: string,
  survivor: Child,
  before: Holder,
): Promise<void> {
  await waitUntil(
    `${survivor.pid} takes ${processorId}'s lease over`,
    async () => {
      const now = await holderOf(leases, processorId);
      return now.live && pidOf(now.owner) === survivor.pid && now.epoch > before.epoch;
    },
    { timeoutMs: 60_000 },
  );
}
