/**
 * `npm start`: serve the API and run every worker in this process.
 */
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { StagelineError } from "./core/errors.ts";
import { logger } from "./logger.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp({ config });
  const { url } = await app.start();
  console.log(`Stageline serves ${url} (${app.db.description})`);
  const shutdown = (signal: string) => {
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  if (error instanceof StagelineError) {
    console.error(`Stageline cannot start: ${error.message} [${error.code}]`);
  } else {
    console.error("Stageline cannot start:", error);
  }
  process.exit(1);
});
