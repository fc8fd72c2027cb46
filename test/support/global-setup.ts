/**
 * Starts one real PostgreSQL for the whole test run (unless TEST_DATABASE_URL names one), so
 * every storage test runs on PGlite and on PostgreSQL from `npm test` alone.
 */
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const existing = process.env.TEST_DATABASE_URL;
  if (existing) {
    project.provide("postgresUrl", existing);
    return;
  }
  const server = await startEmbeddedPostgres();
  project.provide("postgresUrl", server.url);
  return async () => {
    await server.stop();
  };
}
