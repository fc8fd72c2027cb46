/**
 * Transfer IDs are the client's, and an account refuses only an ID it has pending itself: two
 * accounts may use one ID, and one account may use it again once its transfer ended. Each of
 * those transfers must have its own TransferView row (the view was keyed by tenant + ID, and
 * the second transfer's row went to the dead letters), on both engines.
 *
 * Catches: keying TransferView by tenant + transfer ID again (checked by making the key
 * collide for one ID: the second prepare lands in the dead letters and this test fails).
 */
import { describe, expect, it, vi } from "vitest";
import { useTestApp } from "../../support/app.ts";
import { engines } from "../../support/databases.ts";

const runner = { batchSize: 100, pollMs: 20, maxAttempts: 2, onPoison: "dead-letter" as const };

interface Transfer {
  id: string;
  sourceAccountId: string;
  targetAccountId: string;
  amount: number;
  status: string;
}

describe.each(engines)("transfer IDs reused on %s", (engine) => {
  const t = useTestApp(engine, { runner });

  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const { json } = await t.post({ query, variables });
    expect(json.errors).toBeUndefined();
    return json.data as Record<string, unknown>;
  };
  const open = (id: string, initialBalance: number) =>
    post(
      `mutation($name: String!, $balance: Int, $id: ID) {
        createAccount(input: { name: $name, initialBalance: $balance }, command: { aggregateId: $id, waitFor: { stage: PROCESSED } }) { succeeded }
      }`,
      { name: id, balance: initialBalance, id },
    );
  const prepare = async (source: string, transferId: string, amount: number) => {
    const data = await post(
      `mutation($source: ID, $transferId: String!, $amount: Int!) {
        prepareTransfer(input: { transferId: $transferId, targetAccountId: "bob", amount: $amount },
                        command: { aggregateId: $source, waitFor: { stage: PROCESSED } }) { succeeded errorCode }
      }`,
      { source, transferId, amount },
    );
    expect(data.prepareTransfer).toMatchObject({ succeeded: true });
  };
  const transfers = async (): Promise<Transfer[]> =>
    (await t.db.prisma.transferView.findMany({ where: { id: "t-1" }, orderBy: { preparedPosition: "asc" } })).map(
      ({ id, sourceAccountId, targetAccountId, amount, status }) => ({
        id,
        sourceAccountId,
        targetAccountId,
        amount,
        status,
      }),
    );

  it("two accounts using one ID, and one account using it again, get a view row each", async () => {
    await open("bob", 0);
    await open("ann", 100);
    await open("cid", 100);
    await prepare("ann", "t-1", 10);
    await prepare("cid", "t-1", 20);
    // ann's first t-1 must be over before ann may use the ID again.
    await vi.waitFor(async () => expect((await transfers())[0]?.status).toBe("COMPLETED"), {
      timeout: 30_000,
      interval: 50,
    });
    await prepare("ann", "t-1", 30);

    const completed = (sourceAccountId: string, amount: number) => ({
      id: "t-1",
      sourceAccountId,
      targetAccountId: "bob",
      amount,
      status: "COMPLETED",
    });
    await vi.waitFor(
      async () => expect(await transfers()).toEqual([completed("ann", 10), completed("cid", 20), completed("ann", 30)]),
      { timeout: 30_000, interval: 50 },
    );
    expect(await t.db.prisma.deadLetter.count()).toBe(0);

    // The query picks the latest transfer with the ID, or the latest of one source account.
    const data = await post(`{
      latest: transfer(id: "t-1") { sourceAccountId amount status }
      ann: transfer(id: "t-1", sourceAccountId: "ann") { sourceAccountId amount }
      cid: transfer(id: "t-1", sourceAccountId: "cid") { sourceAccountId amount }
      none: transfer(id: "t-1", sourceAccountId: "bob") { amount }
      bob: account(id: "bob") { balance }
    }`);
    expect(data).toEqual({
      latest: { sourceAccountId: "ann", amount: 30, status: "COMPLETED" },
      ann: { sourceAccountId: "ann", amount: 30 },
      cid: { sourceAccountId: "cid", amount: 20 },
      none: null,
      bob: { balance: 60 },
    });
  });
});
