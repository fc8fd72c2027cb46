/**
 * Command line: `npm run db:migrate`, `npm run stageline -- <command>` (`help` lists them).
 * The commands live in src/ops/cli/; this is the entry point.
 */
import { runCli } from "./ops/cli/commands.ts";

export { type CliIo, runCli } from "./ops/cli/commands.ts";
export { type RebuildCliOptions, rebuildProjection } from "./ops/cli/rebuild.ts";

// Run only as the entry point: tests import rebuildProjection and runCli from here.
if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
