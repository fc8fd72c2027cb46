/**
 * The CLI's security commands: API keys (created with the hash stored and the key printed once,
 * listed without secrets, revoked) and `token`, a local HS256 token signed with AUTH_JWT_SECRET
 * for GraphiQL and the README's examples. Registered in commands.ts.
 */
import { signLocalToken } from "../../auth/jwt.ts";
import type { Config } from "../../config.ts";
import { loadConfig } from "../../config.ts";
import { ApiKeyStore } from "../../store/api-key-store.ts";
import type { Database } from "../../store/database.ts";
import { NoSuchApiKey, UsageError } from "../errors.ts";
import { parseArgs } from "./args.ts";
import type { CliIo } from "./commands.ts";

type WithDatabase = <T>(
  io: CliIo,
  work: (db: Database, config: Config) => Promise<T>,
  options?: { migrate?: boolean },
) => Promise<T>;

interface SecurityCommand {
  usage: string;
  describe: string;
  run(args: string[], io: CliIo): Promise<void>;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const ROLE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/** `--tenant a --tenant b` is not supported by the arg reader: tenants and roles are comma lists. */
function grantOf(flags: Map<string, string | true>): { tenants: string[]; roles: string[] } {
  const split = (name: string, pattern: RegExp) => {
    const value = flags.get(name);
    const items = typeof value === "string" ? value.split(",").filter(Boolean) : [];
    for (const item of items) if (!pattern.test(item)) throw new UsageError(`--${name}: ${item} is not valid`);
    return items;
  };
  const tenants = split("tenant", TENANT);
  if (tenants.length === 0) throw new UsageError("--tenant <id>[,<id>…] is required");
  return { tenants, roles: split("roles", ROLE) };
}

export function securityCommands(withDatabase: WithDatabase): Record<string, SecurityCommand> {
  return {
    apikey: {
      usage: "apikey create --tenant <id>[,<id>] [--roles <r>[,<r>]] [--label <text>] | list | revoke <id>",
      describe: "API keys (AUTH_MODE=apikey): create one (printed once, stored hashed), list them, revoke one",
      async run(args, io) {
        const { positional, flags } = parseArgs(args, { valued: ["tenant", "roles", "label"] });
        const [action, id] = positional;
        switch (action) {
          case "create": {
            const grant = grantOf(flags);
            const label = flags.get("label");
            await withDatabase(
              io,
              async (db) => {
                const { key, record } = await new ApiKeyStore(db.sql).create({
                  ...grant,
                  label: typeof label === "string" ? label : undefined,
                });
                io.stdout.write(
                  `${key}\n# id ${record.id}, tenants ${record.tenants.join(",")}, roles ${record.roles.join(",") || "-"}; shown once, only its hash is stored\n`,
                );
              },
              { migrate: true },
            );
            return;
          }
          case "list":
            return withDatabase(io, async (db) => {
              for (const key of await new ApiKeyStore(db.sql).list()) {
                const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : "active";
                io.stdout.write(
                  `${key.id}  ${state}  tenants=${key.tenants.join(",")}  roles=${key.roles.join(",") || "-"}  created=${key.createdAt.toISOString()}${key.label ? `  ${key.label}` : ""}\n`,
                );
              }
            });
          case "revoke":
            if (!id) throw new UsageError("Usage: stageline apikey revoke <id>");
            return withDatabase(io, async (db) => {
              if (!(await new ApiKeyStore(db.sql).revoke(id))) throw new NoSuchApiKey(id);
              io.stdout.write(`Revoked ${id}.\n`);
            });
          default:
            throw new UsageError(`Usage: stageline ${this.usage}`);
        }
      },
    },
    token: {
      usage: "token --tenant <id>[,<id>] [--roles <r>[,<r>]] [--subject <name>] [--ttl <seconds>]",
      describe: "print a local HS256 token signed with AUTH_JWT_SECRET (for GraphiQL, curl, the README)",
      async run(args, io) {
        const { positional, flags } = parseArgs(args, { valued: ["tenant", "roles", "subject", "ttl"] });
        if (positional.length > 0) throw new UsageError(`Usage: stageline ${this.usage}`);
        const grant = grantOf(flags);
        const ttlText = flags.get("ttl");
        const ttl = typeof ttlText === "string" ? Number(ttlText) : 3600;
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > 31 * 86_400) throw new UsageError("--ttl: 1 to 2678400 seconds");
        const subject = flags.get("subject");
        const { security } = loadConfig(io.env);
        if (!security.jwt.secret) {
          throw new UsageError("AUTH_JWT_SECRET is not set: the token is signed with it (see .env.example)");
        }
        const token = await signLocalToken(security.jwt, security, {
          subject: typeof subject === "string" ? subject : "local",
          tenants: grant.tenants,
          roles: grant.roles,
          expiresInSeconds: ttl,
        });
        io.stdout.write(`${token}\n`);
      },
    },
  };
}
