import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

// Two tiers, the unit tier first: `*.unit.test.ts` are pure (no database, no server, no
// network) and fast, plus the type tests (`*.test-d.ts`, checked by tsc); everything else is
// the integration tier, which starts a real PostgreSQL once (globalSetup) and runs every storage
// test on PGlite and on it. `npx vitest run --project unit` runs the unit tier alone.
export default defineConfig({
  resolve: {
    // graphql 16 has no "exports": Vite would load index.mjs for our code while Yoga, Pothos and
    // graphql-ws load index.js through Node — two copies, and `instanceof GraphQLError` fails.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    env: { NODE_ENV: "test", LOG_LEVEL: process.env.LOG_LEVEL ?? "silent" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: two test files at a time, each with its own databases.
    maxWorkers: 2,
    // The files of a worker share its module cache: importing the app (Prisma's client, Yoga,
    // Pothos, OpenTelemetry) took 4-5 s per file, and PGlite's WebAssembly is compiled once per
    // worker instead of once per file. Nothing a test asserts lives in module state: every
    // test builds its own app and databases, and restores what it spies on.
    isolate: false,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.unit.test.ts"],
          typecheck: { enabled: true, include: ["test/**/*.test-d.ts"] },
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.unit.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
