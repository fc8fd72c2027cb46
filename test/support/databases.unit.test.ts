/**
 * The PGlite copies' cache, shared by every test file of a worker: a read that failed is not
 * kept, so a later file reads the tarball again; one that succeeded is read once.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pgliteCopy } from "./databases.ts";

describe("the PGlite copies' cache", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "stageline-copies-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("forgets a failed read: once the file is there, the next call reads it", async () => {
    const file = join(dir, "copy.tar.gz");
    await expect(pgliteCopy(file)).rejects.toMatchObject({ code: "ENOENT" });
    await writeFile(file, "tarball");
    expect(await (await pgliteCopy(file)).text()).toBe("tarball");
  });

  it("keeps a successful read: the same copy for every later call", async () => {
    const file = join(dir, "copy.tar.gz");
    await writeFile(file, "tarball");
    const first = await pgliteCopy(file);
    await rm(file);
    expect(await pgliteCopy(file)).toBe(first);
  });
});
