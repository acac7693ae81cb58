import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileExclusive, SecretBox } from "../../src/core/secrets.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe("secret key file", () => {
  it("a key file others can read is closed to 0600 when opened, and still used", () => {
    const box = SecretBox.open(tmp.dir, {});
    const key = join(tmp.dir, "secret.key");
    chmodSync(key, 0o644);
    const sealed = box.seal("refresh-token");
    expect(SecretBox.open(tmp.dir, {}).open(sealed)).toBe("refresh-token");
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });

  it("an unreadable key file is SECRET_UNREADABLE, not a raw file-system error", () => {
    mkdirSync(join(tmp.dir, "secret.key"));
    expect(() => SecretBox.open(tmp.dir, {})).toThrow(expect.objectContaining({ code: "SECRET_UNREADABLE" }));
  });
});

describe("createFileExclusive", () => {
  it("creates the file whole and 0600, never overwrites an existing one, and leaves no temp file", () => {
    const file = join(tmp.dir, "d", "f");
    expect(createFileExclusive(file, "first")).toBe(true);
    expect(createFileExclusive(file, "second")).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("first");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp.dir, "d")).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(tmp.dir, "d"))).toEqual(["f"]);
    expect(createFileExclusive(join(tmp.dir, "b2"), Uint8Array.from([1, 2, 3]))).toBe(true);
    expect([...readFileSync(join(tmp.dir, "b2"))]).toEqual([1, 2, 3]);
  });
});
