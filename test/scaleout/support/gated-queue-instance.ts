/**
 * One Stageline instance as its own process for the claim renewal test: the tape probe aggregate
 * (test/scaleout/support/tape.ts), with processing held shut for the first command of the tape
 * `gated` (its number 1): on taking it, the process tells its parent (`{ gated: commandId }`) and waits until
 * the parent opens it (`{ open: commandId }`), as long as that takes — longer than a claim's time
 * to live, so only the renewal keeps the claim. Tells its parent the URL it serves.
 */
import { createApp } from "../../../src/app.ts";
import { loadConfig } from "../../../src/config.ts";
import type { StoredCommand } from "../../../src/store/command-store.ts";
import { tapes } from "./tape.ts";

const config = { ...loadConfig(process.env), port: 0, host: "127.0.0.1" };
const app = await createApp({ config, contexts: [tapes] });

const gates = new Map<string, () => void>();
process.on("message", (message: { open?: string }) => {
  if (message.open) gates.get(message.open)?.();
});
const process_ = app.processor.process.bind(app.processor);
app.processor.process = async (command: StoredCommand) => {
  if (command.aggregateId === "gated" && command.data.n === 1) {
    const opened = new Promise<void>((resolve) => gates.set(command.commandId, resolve));
    process.send?.({ gated: command.commandId });
    await opened;
  }
  return process_(command);
};

const { url } = await app.start();
process.send?.({ url });
