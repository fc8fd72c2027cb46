/**
 * A lean GraphQL-over-HTTP client for load: keep-alive sockets (one per concurrent request),
 * JSON in and out, GraphQL errors thrown.
 */
import { Agent, request } from "node:http";

export type Variables = Record<string, unknown>;

export function graphqlClient(url: string) {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  return async function post<T = Record<string, unknown>>(query: string, variables: Variables = {}): Promise<T> {
    const body = JSON.stringify({ query, variables });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    const json = JSON.parse(text) as { data?: T; errors?: { message: string }[] };
    if (json.errors?.length) throw new Error(json.errors.map((e) => e.message).join("; "));
    return json.data as T;
  };
}

export const CREATE_ACCOUNT = `mutation Create($id: ID!, $balance: Int) {
  createAccount(input: { name: "bench", initialBalance: $balance }, command: { aggregateId: $id, waitFor: { stage: PROCESSED } }) {
    succeeded errorCode
  }
}`;

export const DEPOSIT = `mutation Deposit($id: ID!, $stage: Stage!) {
  deposit(input: { amount: 1 }, command: { aggregateId: $id, waitFor: { stage: $stage } }) {
    commandId stage succeeded errorCode
  }
}`;

export const TRANSFER = `mutation Transfer($id: ID!, $transferId: String!, $to: String!) {
  prepareTransfer(
    input: { transferId: $transferId, targetAccountId: $to, amount: 1 }
    command: { aggregateId: $id, waitFor: { stage: SAGA_HANDLED, chain: true } }
  ) { commandId stage succeeded errorCode }
}`;

export const TRANSFER_PROCESSED = `mutation Transfer($id: ID!, $transferId: String!, $to: String!) {
  prepareTransfer(
    input: { transferId: $transferId, targetAccountId: $to, amount: 1 }
    command: { aggregateId: $id, waitFor: { stage: PROCESSED } }
  ) { commandId stage succeeded errorCode }
}`;

export interface MutationResult {
  commandId: string;
  stage: string;
  succeeded: boolean;
  errorCode: string;
}

/** Throws unless the command succeeded and reached `stage`. */
export function expectStage(result: MutationResult | undefined, stage: string): void {
  if (!result) throw new Error("no result");
  if (!result.succeeded || result.stage !== stage) {
    throw new Error(`ended at ${result.stage} with ${result.errorCode} (waited for ${stage})`);
  }
}
