/**
 * What GraphiQL opens with instead of its generic welcome text: the operations that show what
 * Stageline is for — open accounts answering at PROCESSED, a transfer waiting for its whole
 * chain, and the subscription that streams a command's stages. One tab each; the first tab's
 * text is also the default query for GraphiQL versions without tabs.
 */

const OPEN_ACCOUNTS = `# Open two accounts; each answers once its command is PROCESSED.
# Run one operation at a time: the ▶ button asks which.
# The console at /console shows every command travelling through its stages.

mutation OpenAda {
  createAccount(
    input: { name: "Ada", initialBalance: 10000 }
    command: { aggregateId: "ada", waitFor: { stage: PROCESSED } }
  ) {
    commandId
    aggregateId
    aggregateVersion
    stage
    succeeded
    errorCode
  }
}

mutation OpenBob {
  createAccount(input: { name: "Bob" }, command: { aggregateId: "bob", waitFor: { stage: PROCESSED } }) {
    commandId
    stage
    succeeded
    errorCode
  }
}
`;

const TRANSFER = `# Move money and answer when the whole chain has been handled: the saga's entry on bob,
# then the confirmation on ada (chain: true waits for every command sagas send).

mutation Transfer {
  prepareTransfer(
    input: { transferId: "t-1", targetAccountId: "bob", amount: 2500 }
    command: { aggregateId: "ada", waitFor: { stage: SAGA_HANDLED, chain: true } }
  ) {
    commandId
    aggregateId
    stage
    succeeded
    errorCode
    chainFailures {
      commandId
      aggregateId
      errorCode
    }
  }
}
`;

const STAGES = `# Watch a command's stages: every stage already reached first, then live ones, until all are
# reached or one fails. Put a commandId from a mutation's answer in the variables below.

subscription CommandStages($commandId: ID!) {
  commandResults(commandId: $commandId) {
    commandId
    stage
    scope
    succeeded
    errorCode
    signalTime
    function {
      functionKind
      processorName
    }
  }
}
`;

export const GRAPHIQL_EXAMPLES = {
  defaultQuery: OPEN_ACCOUNTS,
  defaultTabs: [
    { query: OPEN_ACCOUNTS },
    { query: TRANSFER },
    { query: STAGES, variables: JSON.stringify({ commandId: "<commandId from a mutation>" }, null, 2) },
  ],
};
