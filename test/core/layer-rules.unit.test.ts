/**
 * The layer rules check themselves: biome.json forbids, per folder, the imports that would break
 * a layer (README, "How it works"). Here each rule is shown failing on a violation and passing
 * the allowed import, by linting small files laid out like the repository in a scratch folder
 * with the project's own biome.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const biome = join(root, "node_modules/.bin/biome");
const scratch = mkdtempSync(join(tmpdir(), "stageline-layers-"));
const { $schema: _, ...config } = JSON.parse(readFileSync(join(root, "biome.json"), "utf8"));
writeFileSync(join(scratch, "biome.json"), JSON.stringify(config));

/** Lints one file at `path` (as if in the repository); returns the restricted-import messages. */
function lint(path: string, source: string): string[] {
  const file = join(scratch, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, source);
  try {
    execFileSync(biome, ["lint", "--max-diagnostics=50", path], { cwd: scratch, stdio: "pipe" });
    return [];
  } catch (error) {
    const output = String((error as { stdout?: Buffer }).stdout ?? "") + String((error as { stderr?: Buffer }).stderr);
    return output.split("\n").filter((line) => line.includes("noRestrictedImports"));
  } finally {
    rmSync(file);
  }
}

describe("layer rules (biome noRestrictedImports per folder)", () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each([
    ["src/core/x.ts", 'import { EventLog } from "../store/event-log.ts";\nexport const x = EventLog;\n'],
    [
      "src/core/x.ts",
      'import type { CommandGateway } from "../gateway/gateway.ts";\nexport type X = CommandGateway;\n',
    ],
    ["src/core/x.ts", 'import { GraphQLError } from "graphql";\nexport const x = GraphQLError;\n'],
    [
      "src/core/x.ts",
      'import type { PrismaClient } from "../generated/prisma/client.ts";\nexport type X = PrismaClient;\n',
    ],
    [
      "src/store/x.ts",
      'import type { CommandGateway } from "../gateway/gateway.ts";\nexport type X = CommandGateway;\n',
    ],
    ["src/store/x.ts", 'import { builder } from "../graphql/builder.ts";\nexport const x = builder;\n'],
    ["src/graphql/x.ts", 'import { EventLog } from "../store/event-log.ts";\nexport const x = EventLog;\n'],
    ["src/graphql/plugins/x.ts", 'import pg from "pg";\nexport const x = pg;\n'],
    [
      "src/domains/shop/x.ts",
      'import type { CommandGateway } from "../../gateway/gateway.ts";\nexport type X = CommandGateway;\n',
    ],
    ["src/domains/shop/x.ts", 'import { EventLog } from "../../store/event-log.ts";\nexport const x = EventLog;\n'],
    [
      "src/aggregates/x.ts",
      'import type { CommandGateway } from "../gateway/gateway.ts";\nexport type X = CommandGateway;\n',
    ],
    ["src/aggregates/x.ts", 'import { builder } from "../graphql/builder.ts";\nexport const x = builder;\n'],
    [
      "src/gateway/x.ts",
      'import { AggregateHistory } from "../aggregates/history.ts";\nexport const x = AggregateHistory;\n',
    ],
    ["src/gateway/x.ts", 'import { builder } from "../graphql/builder.ts";\nexport const x = builder;\n'],
    ["src/gateway/x.ts", 'import { Runner } from "../runners/runner.ts";\nexport const x = Runner;\n'],
  ])("%s: refuses %s", (path, source) => {
    expect(lint(path, source)).toHaveLength(1);
  });

  it.each([
    ["src/core/x.ts", 'import { z } from "zod";\nexport const x = z;\n'],
    ["src/store/x.ts", 'import { DomainError } from "../core/errors.ts";\nexport const x = DomainError;\n'],
    [
      "src/graphql/x.ts",
      'import { isDatabaseUnavailable } from "../store/unavailable.ts";\nexport const x = isDatabaseUnavailable;\n',
    ],
    [
      "src/domains/shop/x.ts",
      'import { defineAggregate } from "../../core/aggregate.ts";\nexport const x = defineAggregate;\n',
    ],
    ["src/core/x.ts", 'import type { Registry } from "./registry.ts";\nexport type X = Registry;\n'],
    ["src/aggregates/x.ts", 'import { EventLog } from "../store/event-log.ts";\nexport const x = EventLog;\n'],
    [
      "src/gateway/x.ts",
      'import { AggregateLoader } from "../aggregates/loader.ts";\nexport const x = AggregateLoader;\n',
    ],
    ["src/runners/x.ts", 'import type { Registry } from "../core/registry.ts";\nexport type X = Registry;\n'],
    // The one door from a context into the store: its own read-model statements.
    [
      "src/domains/shop/x.ts",
      'import { searchOrdersSql } from "../../store/read-models/ordering.ts";\nexport const x = searchOrdersSql;\n',
    ],
  ])("%s: allows %s", (path, source) => {
    expect(lint(path, source)).toEqual([]);
  });
});
