/**
 * The Account aggregate's events, declared once: name → the schema of its data. The event union,
 * the event types processors subscribe to and the check of decided events derive from this.
 */
import { z } from "zod";
import type { EventOf } from "../../core/events.ts";

const cents = z.number().int();
const transferId = z.string();

export const accountEvents = {
  AccountCreated: z.object({ name: z.string(), initialBalance: cents.min(0) }),
  MoneyDeposited: z.object({ amount: cents.positive() }),
  MoneyWithdrawn: z.object({ amount: cents.positive() }),
  AccountFrozen: z.object({ reason: z.string() }),
  AccountUnfrozen: z.object({}),
  TransferPrepared: z.object({ transferId, targetAccountId: z.string(), amount: cents.positive() }),
  TransferReceived: z.object({ transferId, sourceAccountId: z.string(), amount: cents.positive() }),
  TransferConfirmed: z.object({ transferId, amount: cents.positive() }),
  TransferUnlocked: z.object({ transferId, amount: cents.positive(), reason: z.string() }),
};

export type AccountEvent = EventOf<typeof accountEvents>;
