/**
 * The embedded PostgreSQL starts even when its binaries sit in a folder only their owner can
 * enter, as in a clone in /root: run as root, the server runs as the `postgres` user, who could
 * not execute them there (`spawn …/initdb EACCES`, and the whole run died). Run as another user,
 * the server runs as that user, who owns the folder: the same test then checks the plain path.
 * Removing the copy of the binaries to the temp dir makes it fail with EACCES when run as root.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Binaries, linkTree, type RunningPostgres, startEmbeddedPostgres } from "./embedded-postgres.ts";

describe("embedded PostgreSQL from a folder only its owner can enter", () => {
  let closed: string;
  let server: RunningPostgres | undefined;
  beforeAll(async () => {
    closed = await mkdtemp(join(tmpdir(), "stageline-closed-")); // mkdtemp makes it 0700
    const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as Binaries;
    await mkdir(join(closed, "project"));
    await linkTree(dirname(dirname(postgres)), join(closed, "project/native"));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(closed, { recursive: true, force: true });
  });

  it("starts, answers queries, and stops", async () => {
    const native = join(closed, "project/native/bin");
    server = await startEmbeddedPostgres({
      binaries: { initdb: join(native, "initdb"), postgres: join(native, "postgres") },
    });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      expect((await client.query<{ answer: number }>("SELECT 6 * 7 AS answer")).rows).toEqual([{ answer: 42 }]);
    } finally {
      await client.end();
    }
  });
});
