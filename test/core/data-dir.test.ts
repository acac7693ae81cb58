import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureDataDir } from "../../src/core/data-dir.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe("ensureDataDir", () => {
  it("creates every missing parent, each 0700, and accepts an existing directory as it is", () => {
    const dir = join(tmp.dir, "a", "b", "c");
    ensureDataDir(dir);
    for (const p of [join(tmp.dir, "a"), join(tmp.dir, "a", "b"), dir]) {
      expect(statSync(p).isDirectory()).toBe(true);
      expect(statSync(p).mode & 0o777).toBe(0o700);
    }
    mkdirSync(join(tmp.dir, "open"), { mode: 0o755 });
    ensureDataDir(join(tmp.dir, "open"));
    expect(statSync(join(tmp.dir, "open")).mode & 0o777).toBe(0o755);
  });

  it("a file in the way, at the directory or above it, is DATA_DIR_UNUSABLE saying which and the fix", () => {
    writeFileSync(join(tmp.dir, "f"), "x");
    for (const dir of [join(tmp.dir, "f"), join(tmp.dir, "f", "sub")]) {
      let caught: unknown;
      try {
        ensureDataDir(dir);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({
        code: "DATA_DIR_UNUSABLE",
        details: { dir },
      });
      expect((caught as Error).message).toContain("is a file, not a directory");
      expect((caught as Error).message).toContain("Fix: set hub.dataDir to a directory");
    }
  });

  it("a file system that holds no files of ours (/proc) is refused at once, not looped on", () => {
    expect(() => ensureDataDir("/proc/pkb-hub-test/data")).toThrow(
      expect.objectContaining({
        code: "DATA_DIR_UNUSABLE",
        message: expect.stringContaining("cannot be created (ENOENT at /proc/pkb-hub-test;"),
      }),
    );
  });

  it("a directory nobody may create there (/sys) names the user, the errno and the fix", () => {
    let caught: unknown;
    try {
      ensureDataDir("/sys/pkb-hub-test");
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: "DATA_DIR_UNUSABLE", details: { dir: "/sys/pkb-hub-test" } });
    const message = (caught as Error).message;
    expect(message).toMatch(
      /^data directory \/sys\/pkb-hub-test cannot be created or written by user \S+ \(uid \d+\) \((EPERM|EACCES|EROFS) at \/sys\/pkb-hub-test\)\. Fix: /,
    );
    expect(message).toMatch(
      /Fix: (sudo install -d -o \S+ -m 0700 \/sys\/pkb-hub-test|set hub\.dataDir to a directory on a writable file system)/,
    );
  });
});
