/**
 * Read-your-writes over a whole chain: `afterChain` on a read-model query waits until the
 * command and every command its sagas sent under it are projected. A client that sent a transfer
 * (answered at SENT) reads the target account's balance and the completed transfer at once,
 * without knowing the saga's commands; a refused root is READ_AFTER_FAILED_COMMAND, as with
 * `afterCommand`. On both engines.
 *
 * Catches: `afterChain` waiting only for the root (the target's deposit is a saga command, so the
 * balance would still read 0) or not at all.
 */
import { describe, expect, it } from "vitest";
import { useTestApp } from "../support/app.ts";
import { engines } from "../support/databases.ts";

describe.each(engines)("afterChain on %s", (engine) => {
  const t = useTestApp(engine);

  const post = async (query: string, variables: Record<string, unknown> = {}) =>
    (await t.post({ query, variables })).json;
  const open = async (id: string, balance: number) => {
    const json = await post(
      `mutation($id: ID, $balance: Int) {
        createAccount(input: { name: "n", initialBalance: $balance }, command: { aggregateId: $id, waitFor: { stage: PROJECTED } }) { succeeded }
      }`,
      { id, balance },
    );
    expect(json.data?.createAccount).toEqual({ succeeded: true });
  };
  const transfer = async (source: string, target: string, transferId: string, amount: number) => {
    const json = await post(
      `mutation($source: ID, $target: String!, $transferId: String!, $amount: Int!) {
        prepareTransfer(input: { transferId: $transferId, targetAccountId: $target, amount: $amount },
                        command: { aggregateId: $source, waitFor: { stage: SENT } }) { commandId }
      }`,
      { source, target, transferId, amount },
    );
    expect(json.errors).toBeUndefined();
    return (json.data as { prepareTransfer: { commandId: string } }).prepareTransfer.commandId;
  };

  it("reads the target's balance and the completed transfer after the chain a transfer started", async () => {
    await open("chain-ann", 100);
    await open("chain-bob", 0);
    const commandId = await transfer("chain-ann", "chain-bob", "ct-1", 30);
    const json = await post(
      `query($c: ID!) {
        bob: account(id: "chain-bob", afterChain: $c) { balance }
        ann: account(id: "chain-ann", afterChain: $c) { balance }
        transfer(id: "ct-1", sourceAccountId: "chain-ann", afterChain: $c) { status }
      }`,
      { c: commandId },
    );
    expect(json.errors).toBeUndefined();
    expect(json.data).toEqual({ bob: { balance: 30 }, ann: { balance: 70 }, transfer: { status: "COMPLETED" } });
  });

  it("answers READ_AFTER_FAILED_COMMAND after a chain whose root was refused", async () => {
    await open("chain-cid", 5);
    const commandId = await transfer("chain-cid", "chain-bob", "ct-2", 50);
    const json = await post(`query($c: ID!) { account(id: "chain-cid", afterChain: $c) { balance } }`, {
      c: commandId,
    });
    expect(json.errors?.[0]?.extensions?.code).toBe("READ_AFTER_FAILED_COMMAND");
  });
});
