/**
 * `stageline failed-commands list | show <commandId> | retry <commandId>`: the queued commands
 * set aside after COMMAND_MAX_FAILURES failures (status FAILED, answered COMMAND_FAILED), and the
 * way back: a retry re-queues one with its failures reset (src/gateway/failed-commands.ts), and
 * whichever worker looks first processes it — a server beside the CLI on PostgreSQL, or the next
 * start of the server on the embedded database. There is no discard: an accepted command is
 * never dropped. Registered in commands.ts.
 */
import type { Config } from "../../config.ts";
import { type FailedCommand, isCommandId, retryFailedCommand } from "../../gateway/failed-commands.ts";
import { CommandQueue } from "../../store/command-queue.ts";
import type { Database } from "../../store/database.ts";
import { FailedCommandNotFound, UsageError } from "../errors.ts";
import { parseArgs } from "./args.ts";
import type { CliIo } from "./commands.ts";

type WithDatabase = <T>(io: CliIo, work: (db: Database, config: Config) => Promise<T>) => Promise<T>;

interface FailedCommandsCommand {
  usage: string;
  describe: string;
  run(args: string[], io: CliIo): Promise<void>;
}

export interface FailedCommandView {
  commandId: string;
  tenantId: string;
  aggregate: string;
  type: string;
  requestId: string;
  failures: number;
  lastError: string | null;
  createdAt: string;
  failedAt: string | null;
}

export const failedView = (f: FailedCommand): FailedCommandView => ({
  commandId: f.command.commandId,
  tenantId: f.command.tenantId,
  aggregate: `${f.command.aggregateName}/${f.command.aggregateId}`,
  type: f.command.type,
  requestId: f.command.requestId,
  failures: f.failures,
  lastError: f.lastError,
  createdAt: new Date(f.command.createdAt).toISOString(),
  failedAt: f.failedAt ? new Date(f.failedAt).toISOString() : null,
});

const USAGE = "failed-commands list [--json] | show <commandId> | retry <commandId>";

export function failedCommandsCommands(withDatabase: WithDatabase): Record<string, FailedCommandsCommand> {
  const print = (io: CliIo, text: string): void => {
    io.stdout.write(`${text}\n`);
  };
  return {
    "failed-commands": {
      usage: USAGE,
      describe: "look at the queued commands set aside after failing too often; retry one (after a fix)",
      async run(args, io) {
        const { positional, flags } = parseArgs(args, { boolean: ["json"] });
        const [action, commandId] = positional;
        const needId = () => {
          if (!commandId || positional.length > 2) {
            throw new UsageError(`Usage: stageline failed-commands ${action} <commandId>`);
          }
          return commandId;
        };
        switch (action) {
          case "list":
            return withDatabase(io, async (db) => {
              const list = (await new CommandQueue(db.sql).failed()).map(failedView);
              if (flags.has("json")) return print(io, JSON.stringify(list, null, 2));
              if (list.length === 0) return print(io, "No failed commands.");
              for (const f of list) {
                print(
                  io,
                  `${f.commandId}  ${f.tenantId}  ${f.aggregate}  ${f.type}  ${f.failures} failure(s)  ${f.failedAt ?? ""}\n    ${f.lastError ?? ""}`,
                );
              }
            });
          case "show": {
            const id = needId();
            return withDatabase(io, async (db) => {
              const found = isCommandId(id) ? await new CommandQueue(db.sql).failedOne(id) : undefined;
              if (!found) throw new FailedCommandNotFound(`No command ${id} is set aside`);
              print(io, JSON.stringify({ ...failedView(found), data: found.command.data }, null, 2));
            });
          }
          case "retry": {
            const id = needId();
            return withDatabase(io, async (db) => {
              const command = await retryFailedCommand({ sql: db.sql, queue: new CommandQueue(db.sql) }, id);
              print(
                io,
                `Re-queued ${command.commandId} (${command.aggregateName}/${command.aggregateId}); a worker processes it next (on the embedded database: at the server's next start).`,
              );
            });
          }
          default:
            throw new UsageError(`Usage: stageline ${USAGE}`);
        }
      },
    },
  };
}
