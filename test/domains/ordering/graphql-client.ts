/**
 * Sends ordering commands and queries to a test app over GraphQL, as a client would.
 */
import { expect } from "vitest";
import type { TestApp } from "../../support/app.ts";

export interface SentCommand {
  commandId: string;
  aggregateId: string;
  succeeded: boolean;
  errorCode: string;
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Sends one command mutation and waits until the projections have it (PROJECTED). */
export async function command(
  t: TestApp,
  field: string,
  input: Record<string, unknown> | undefined,
  aggregateId?: string,
): Promise<SentCommand> {
  const inputArg = input ? `$input: ${upperFirst(field)}Input!, ` : "";
  const { json } = await t.post({
    query: `mutation(${inputArg}$command: CommandOptions) {
      ${field}(${input ? "input: $input, " : ""}command: $command) { commandId aggregateId succeeded errorCode }
    }`,
    variables: { input, command: { aggregateId, waitFor: { stage: "PROJECTED" } } },
  });
  expect(json.errors).toBeUndefined();
  return json.data![field] as SentCommand;
}

/** Like `command`, but the command must succeed. */
export async function accepted(
  t: TestApp,
  field: string,
  input: Record<string, unknown> | undefined,
  aggregateId?: string,
): Promise<SentCommand> {
  const result = await command(t, field, input, aggregateId);
  expect(result, `${field} was refused`).toMatchObject({ succeeded: true, errorCode: "Ok" });
  return result;
}

export async function query<T>(t: TestApp, text: string, variables: Record<string, unknown> = {}): Promise<T> {
  const { json } = await t.post({ query: text, variables });
  expect(json.errors).toBeUndefined();
  return json.data as T;
}

export interface OrderItem {
  productId: string;
  quantity: number;
  unitPrice: number;
}

/** Creates an order for the customer with these lines (none: an empty draft); it must be accepted. */
export function createOrder(
  t: TestApp,
  orderId: string | undefined,
  customerId: string,
  items?: OrderItem[],
): Promise<SentCommand> {
  return accepted(t, "createOrder", { customerId, items }, orderId);
}
