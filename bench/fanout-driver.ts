/**
 * Subscription fan-out: each subscriber has its own graphql-ws connection and account; at its
 * moment it sends one deposit (answered at SENT) and subscribes to that command's results until
 * every stage is reached. Latency is from the append (the PROCESSED result's signal time: the
 * transaction that appended the events) to the moment the subscriber has the signal.
 */
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import { accountIds, INITIAL_BALANCE } from "./accounts.ts";
import { CREATE_ACCOUNT, graphqlClient } from "./graphql-client.ts";
import { serve } from "./ipc.ts";
import { inParallel } from "./stats.ts";
import { first, fullText, watchResults } from "./ws-operations.ts";

const SEND = `mutation Send($id: ID!) { deposit(input: { amount: 1 }, command: { aggregateId: $id }) { commandId } }`;

/** Codeless errors whose whole text a run keeps (`uncoded`), so the next run says what they are. */
const UNCODED_KEPT = 5;

export interface FanOutResult {
  subscribers: number;
  /** Signals at or after PROCESSED delivered to subscribers. */
  delivered: number;
  errors: number;
  /** Errors by their `extensions.code` (OVERLOADED, UNAVAILABLE, …; `other` without one). */
  errorCodes: Record<string, number>;
  /** Sends again after OVERLOADED (with --retry-overloaded): how many, and commands stored after one. */
  retries: number;
  storedAfterRetry: number;
  firstError?: string;
  /** The full text of the first few errors counted as `other` (no code, no known client-side cause). */
  uncoded: string[];
  /** ms from append (PROCESSED signal time) to delivery, one per delivered signal. */
  latencies: number[];
  /** The same latencies by stage and scope (`PROJECTED/STAGE`): which signals come late. */
  byStage: Record<string, number[]>;
  firstSendAt: number;
  lastDeliveryAt: number;
}

let clients: Client[] = [];
let ids: string[] = [];

/**
 * Sends the deposit; an OVERLOADED answer (nothing stored) is sent again up to `retries` times,
 * after its `retryAfterMs` with jitter (half to one and a half of it), as a well-behaved client
 * would.
 */
async function sendRetrying(
  client: Client,
  id: string,
  retries: number,
  result: FanOutResult,
): Promise<{ deposit: { commandId: string } }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const sent = await first<{ deposit: { commandId: string } }>(client, SEND, { id });
      if (attempt > 0) result.storedAfterRetry++;
      return sent;
    } catch (error) {
      const { code, retryAfterMs } = error as { code?: unknown; retryAfterMs?: unknown };
      if (code !== "OVERLOADED" || attempt >= retries) throw error;
      result.retries++;
      const pause = (Number(retryAfterMs) || 1_000) * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

serve({
  setup: async (args: { url: string; wsUrl: string; prefix: string; subscribers: number }) => {
    const post = graphqlClient(args.url);
    ids = accountIds(args.prefix, args.subscribers);
    await inParallel(ids, 16, async (id) => {
      const data = await post<{ createAccount: { succeeded: boolean } }>(CREATE_ACCOUNT, {
        id,
        balance: INITIAL_BALANCE,
      });
      if (!data.createAccount.succeeded) throw new Error(`creating ${id} failed`);
    });
    clients = [];
    await inParallel(ids, 50, async () => {
      const client = createClient({ url: args.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
      await new Promise<void>((resolve, reject) => {
        const offConnected = client.on("connected", () => {
          offConnected();
          resolve();
        });
        client.on("error", reject);
      });
      clients.push(client);
    });
    return { subscribers: clients.length };
  },
  run: async (args: { startAt: number; spreadMs: number; retryOverloaded?: number }): Promise<FanOutResult> => {
    const result: FanOutResult = {
      subscribers: clients.length,
      delivered: 0,
      errors: 0,
      errorCodes: {},
      retries: 0,
      storedAfterRetry: 0,
      uncoded: [],
      latencies: [],
      byStage: {},
      firstSendAt: Number.POSITIVE_INFINITY,
      lastDeliveryAt: 0,
    };
    await Promise.all(
      clients.map(async (client, i) => {
        const at = args.startAt + Math.random() * args.spreadMs;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        try {
          result.firstSendAt = Math.min(result.firstSendAt, Date.now());
          const sent = await sendRetrying(client, ids[i]!, args.retryOverloaded ?? 0, result);
          const { received, processed } = await watchResults(client, sent.deposit.commandId);
          const appendedAt = Date.parse(processed.signalTime);
          for (const r of received) {
            if (r.signal.stage === "SENT") continue;
            result.delivered++;
            result.latencies.push(r.at - appendedAt);
            const key = `${r.signal.stage}/${r.signal.scope}`;
            result.byStage[key] = [...(result.byStage[key] ?? []), r.at - appendedAt];
            result.lastDeliveryAt = Math.max(result.lastDeliveryAt, r.at);
          }
        } catch (error) {
          result.errors++;
          const code = String((error as { code?: unknown }).code ?? "other");
          result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
          result.firstError ??= error instanceof Error ? error.message : String(error);
          if (code === "other" && result.uncoded.length < UNCODED_KEPT) result.uncoded.push(fullText(error));
        }
      }),
    );
    return result;
  },
  close: async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    clients = [];
    return {};
  },
});
