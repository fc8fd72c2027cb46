/**
 * Starts one real PostgreSQL for the whole test run (unless TEST_DATABASE_URL names one), so
 * every storage test runs on PGlite and on PostgreSQL from `npm test` alone; and makes the
 * databases every test database is copied from (templates.ts).
 */
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import { makePgliteCopies, makePostgresTemplate } from "./templates.ts";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
    /** The name of a migrated database on that server, to create test databases from. */
    postgresTemplate: string;
    /** Tarball files a test PGlite starts from: fresh from initdb, and migrated. */
    pgliteEmpty: string;
    pgliteMigrated: string;
  }
}

export default async function setup(project: TestProject) {
  const existing = process.env.TEST_DATABASE_URL;
  const [server, copies] = await Promise.all([existing ? undefined : startEmbeddedPostgres(), makePgliteCopies()]);
  const url = existing ?? server!.url;
  const template = await makePostgresTemplate(url);
  project.provide("postgresUrl", url);
  project.provide("postgresTemplate", template.name);
  project.provide("pgliteEmpty", copies.empty);
  project.provide("pgliteMigrated", copies.migrated);
  return async () => {
    await copies.remove();
    if (server) await server.stop();
    else await template.drop();
  };
}
