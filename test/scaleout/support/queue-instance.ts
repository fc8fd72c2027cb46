/**
 * One Stageline instance as its own process for the command queue crash test: the tape probe
 * aggregate only (test/scaleout/support/tape.ts). Started with STAGELINE_TEST_HANG=1 its decider
 * spins forever on a `hang` command, so the process is stuck with that command's claim in hand
 * until the test kills it. Tells its parent the URL it serves.
 */
import { createApp } from "../../../src/app.ts";
import { loadConfig } from "../../../src/config.ts";
import { tapes } from "./tape.ts";

const config = { ...loadConfig(process.env), port: 0, host: "127.0.0.1" };
const app = await createApp({ config, contexts: [tapes] });
const { url } = await app.start();
process.send?.({ url });
