/**
 * Command line: `npm run db:migrate`, `npm run stageline -- <command>`.
 */
import { loadConfig } from "./config.ts";
import { StagelineError } from "./core/errors.ts";
import { logger } from "./logger.ts";
import { openDatabase } from "./store/database.ts";
import { parseDatabaseUrl } from "./store/database-url.ts";
import { migrate } from "./store/migrations.ts";

const commands: Record<string, { describe: string; run: (args: string[]) => Promise<void> }> = {
  migrate: {
    describe: "apply pending migrations to DATABASE_URL (or the embedded database)",
    async run() {
      const config = loadConfig();
      const db = await openDatabase(parseDatabaseUrl(config.databaseUrl, config.dataDir), { poolSize: 2 });
      try {
        const report = await migrate(db.sql, { logger });
        console.log(
          report.applied.length
            ? `Applied ${report.applied.length} migration(s) to ${db.description}: ${report.applied.join(", ")}`
            : `${db.description} is up to date (${report.alreadyApplied} migration(s) applied).`,
        );
      } finally {
        await db.close();
      }
    },
  },
};

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(
      `Usage: stageline <command>\n\nCommands:\n${Object.entries(commands)
        .map(([n, c]) => `  ${n.padEnd(12)} ${c.describe}`)
        .join("\n")}`,
    );
    process.exitCode = name ? 2 : 0;
    return;
  }
  await command.run(args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof StagelineError ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
});
