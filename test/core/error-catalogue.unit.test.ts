/**
 * docs/bad-input.md is checked against the error catalogues: its "Every code" section lists
 * exactly the codes of the four catalogues (engine, auth, GraphQL, ops), and every code the
 * tables above it name exists (in a catalogue, or as a context's own code in src/domains). Also
 * the one way of attaching a code: the base class keeps it, and the error's name is its class's.
 *
 * Catches: a code added to a catalogue but not documented, a documented code renamed or
 * removed, an error that loses its code or its class name.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { AuthCode, RateLimited, Unauthenticated } from "../../src/auth/errors.ts";
import {
  CoreCode,
  codes,
  DomainError,
  ReadNotReady,
  StagelineError,
  UnknownCommand,
  VersionConflict,
} from "../../src/core/errors.ts";
import { BadArgument, GraphQLCode } from "../../src/graphql/errors.ts";
import { OpsCode, ReplayRefused } from "../../src/ops/errors.ts";

const root = resolve(import.meta.dirname, "../..");
const doc = readFileSync(join(root, "docs/bad-input.md"), "utf8");
const catalogues = { CoreCode, AuthCode, GraphQLCode, OpsCode };
const catalogued = Object.values(catalogues).flatMap((catalogue) => Object.values(catalogue) as string[]);

const EVERY_CODE = "## Every code";
const [tables = "", everyCodeSection = ""] = doc.split(EVERY_CODE);

/** The codes a markdown table names in its columns whose header mentions a code. */
function codesInTables(markdown: string): string[] {
  const found: string[] = [];
  let codeColumns: number[] = [];
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      codeColumns = [];
      continue;
    }
    const cells = line.split(/(?<!\\)\|/).slice(1, -1);
    if (codeColumns.length === 0) {
      codeColumns = cells.flatMap((cell, i) => (/code/i.test(cell) ? [i] : []));
      continue;
    }
    for (const i of codeColumns) {
      for (const [, quoted] of (cells[i] ?? "").matchAll(/`([^`]*)`/g)) {
        const code = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|^[A-Z]{4,}$/.exec(quoted ?? "")?.[0];
        if (code) found.push(code);
      }
    }
  }
  return found;
}

/** Every upper-case string literal in src/domains: a context's own codes are among them. */
function domainLiterals(): Set<string> {
  const dir = join(root, "src/domains");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  const literals = files.flatMap((f) =>
    [...readFileSync(join(dir, f), "utf8").matchAll(/"([A-Z][A-Z0-9_]+)"/g)].map((m) => m[1] as string),
  );
  return new Set(literals);
}

describe("the error catalogues and docs/bad-input.md", () => {
  it("the doc has the section that lists every code", () => {
    expect(everyCodeSection).not.toBe("");
  });

  it("every catalogued code is documented, and every code the section lists is catalogued", () => {
    const listed = codesInTables(everyCodeSection);
    expect(listed.length).toBeGreaterThan(50);
    expect(new Set(listed)).toEqual(new Set(catalogued));
    expect(listed).toHaveLength(new Set(listed).size);
  });

  it("no code is in two catalogues", () => {
    expect(catalogued).toHaveLength(new Set(catalogued).size);
  });

  it("every code the tables name exists: in a catalogue or as a context's own code", () => {
    const named = codesInTables(tables);
    expect(named).toEqual(expect.arrayContaining(["VALIDATION_FAILED", "INVALID_CURSOR", "TRANSFER_NOT_PENDING"]));
    const known = new Set([...catalogued, ...domainLiterals()]);
    expect(named.filter((code) => !known.has(code))).toEqual([]);
  });

  it("a catalogue maps each code to itself", () => {
    expect(codes("A_B", "C")).toEqual({ A_B: "A_B", C: "C" });
    for (const catalogue of Object.values(catalogues)) {
      for (const [name, code] of Object.entries(catalogue)) expect(code).toBe(name);
    }
    expect(Object.isFrozen(CoreCode)).toBe(true);
  });
});

describe("typed errors", () => {
  it("carry their code and their class's name, whichever way they were declared", () => {
    const errors: [StagelineError, string, string][] = [
      [new UnknownCommand("no such command"), "UNKNOWN_COMMAND", "UnknownCommand"],
      [new VersionConflict("s", 1, 2), "VERSION_CONFLICT", "VersionConflict"],
      [new DomainError("OUT_OF_STOCK", "none left"), "OUT_OF_STOCK", "DomainError"],
      [new Unauthenticated("who?"), "UNAUTHENTICATED", "Unauthenticated"],
      [new RateLimited(1500), "RATE_LIMITED", "RateLimited"],
      [new BadArgument("bad"), "BAD_USER_INPUT", "BadArgument"],
      [new ReplayRefused(OpsCode.REPLAY_FORWARD, "forward"), "REPLAY_FORWARD", "ReplayRefused"],
    ];
    for (const [error, code, name] of errors) {
      expect(error).toBeInstanceOf(StagelineError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
    }
    expect(new UnknownCommand("x").message).toBe("x");
    expect(new RateLimited(1500).message).toContain("retry in 2 s");
  });

  it("a read after a command answers READ_TIMEOUT when the wait expired, else READ_AFTER_FAILED_COMMAND", () => {
    expect(new ReadNotReady("c1", CoreCode.WAIT_TIMEOUT).code).toBe("READ_TIMEOUT");
    const failed = new ReadNotReady("c1", "INSUFFICIENT_BALANCE");
    expect(failed.code).toBe("READ_AFTER_FAILED_COMMAND");
    expect(failed.message).toContain("INSUFFICIENT_BALANCE");
  });
});
