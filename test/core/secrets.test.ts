import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createFileExclusive,
  isSecretFileExposed,
  readSecretFile,
  SecretBox,
  writeFileAtomic,
} from "../../src/core/secrets.js";
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

describe("writeFileAtomic", () => {
  it("creates missing directories 0700 and writes bytes as given", () => {
    const file = join(tmp.dir, "a", "b", "f");
    writeFileAtomic(file, Uint8Array.from([0, 255, 10]));
    expect([...readFileSync(file)]).toEqual([0, 255, 10]);
    expect(statSync(join(tmp.dir, "a", "b")).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileAtomic(file, "text");
    expect(readFileSync(file, "utf8")).toBe("text");
    expect(readdirSync(join(tmp.dir, "a", "b"))).toEqual(["f"]);
  });
});

describe("isSecretFileExposed", () => {
  it("is true when group or others may read, write or run it, false for 0600, 0400 and a missing file", () => {
    const file = join(tmp.dir, "s");
    writeFileSync(file, "x");
    const exposed = (mode: number) => {
      chmodSync(file, mode);
      return isSecretFileExposed(file);
    };
    expect([0o600, 0o400, 0o700].map(exposed)).toEqual([false, false, false]);
    expect([0o640, 0o604, 0o610, 0o601, 0o620, 0o602].map(exposed)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(isSecretFileExposed(join(tmp.dir, "missing"))).toBe(false);
  });
});

describe("readSecretFile", () => {
  it("drops one trailing newline (LF or CRLF) and nothing else", () => {
    const file = join(tmp.dir, "s");
    for (const [text, expected] of [
      ["secret\n", "secret"],
      ["secret\r\n", "secret"],
      ["secret\n\n", "secret\n"],
      [" secret ", " secret "],
      ["sec\nret", "sec\nret"],
    ]) {
      writeFileSync(file, text as string);
      expect(readSecretFile(file)).toBe(expected);
    }
  });

  it("a missing file is SECRET_UNREADABLE naming the file", () => {
    const file = join(tmp.dir, "missing");
    expect(() => readSecretFile(file)).toThrow(
      expect.objectContaining({
        code: "SECRET_UNREADABLE",
        message: expect.stringContaining(`cannot read secret file ${file}`),
        cause: expect.objectContaining({ code: "ENOENT" }),
      }),
    );
  });
});

describe("SecretBox", () => {
  it("seals as v1 without a context and v2 with one; each opens only the way it was sealed", () => {
    const box = SecretBox.open(tmp.dir, {});
    const plain = box.seal("token");
    const bound = box.seal("token", "patient-1");
    expect(plain.split(".")[0]).toBe("v1");
    expect(bound.split(".")[0]).toBe("v2");
    expect(plain.split(".")).toHaveLength(4);
    expect(box.open(plain)).toBe("token");
    expect(box.open(bound, "patient-1")).toBe("token");
    expect(box.open(` ${bound}\n`, "patient-1")).toBe("token");
    expect(() => box.open(bound, "patient-2")).toThrow(
      expect.objectContaining({
        code: "SECRET_UNREADABLE",
        message: expect.stringContaining("sealed for another owner"),
      }),
    );
    expect(() => box.open(bound)).toThrow(
      expect.objectContaining({ message: "sealed for an owner that was not given" }),
    );
    expect(() => box.open(plain, "patient-1")).toThrow(
      expect.objectContaining({ message: "sealed in an older format that is not bound to its owner" }),
    );
    expect(box.open(box.seal(""))).toBe("");
  });

  it("malformed sealed text is SECRET_UNREADABLE", () => {
    const box = SecretBox.open(tmp.dir, {});
    const [, iv, tag, body] = box.seal("x").split(".");
    for (const bad of [
      "",
      "v1",
      `v1.${iv}`,
      `v1.${iv}.${tag}`,
      `v3.${iv}.${tag}.${body}`,
      `v1..${tag}.${body}`,
      `v1.${iv}..${body}`,
    ]) {
      expect(() => box.open(bad)).toThrow(
        expect.objectContaining({ code: "SECRET_UNREADABLE", message: "sealed data is malformed" }),
      );
    }
    expect(() => box.open(`v1.${iv}.${tag}.${Buffer.from("other").toString("base64")}`)).toThrow(
      expect.objectContaining({
        message: "sealed data cannot be decrypted (wrong key or tampered)",
        cause: expect.any(Error),
      }),
    );
  });

  it("the key file holds 32 random bytes in base64, kept across opens; surrounding whitespace is ignored", () => {
    const a = SecretBox.open(tmp.dir, {});
    const key = join(tmp.dir, "secret.key");
    const text = readFileSync(key, "utf8");
    expect(Buffer.from(text, "base64")).toHaveLength(32);
    writeFileSync(key, `  ${text}\n`, { mode: 0o600 });
    expect(SecretBox.open(tmp.dir, {}).open(a.seal("kept"))).toBe("kept");
    expect(SecretBox.open(join(tmp.dir, "other"), {}).seal("y")).not.toBe(a.seal("y"));
  });

  it("a key of the wrong length is SECRET_UNREADABLE naming the file", () => {
    const key = join(tmp.dir, "secret.key");
    writeFileSync(key, Buffer.alloc(31, 1).toString("base64"), { mode: 0o600 });
    expect(() => SecretBox.open(tmp.dir, {})).toThrow(
      expect.objectContaining({ message: `key file ${key} does not hold a 256-bit key` }),
    );
  });

  it("uses the systemd credential when it exists (never tightening it), else the data directory's key", () => {
    const creds = join(tmp.dir, "creds");
    mkdirSync(creds);
    const credential = join(creds, "pkb-hub-key");
    const data = join(tmp.dir, "data");
    const own = SecretBox.open(data, { CREDENTIALS_DIRECTORY: creds });
    expect(statSync(join(data, "secret.key")).isFile()).toBe(true);
    writeFileSync(credential, Buffer.alloc(32, 9).toString("base64"), { mode: 0o640 });
    const viaCredential = SecretBox.open(data, { CREDENTIALS_DIRECTORY: creds });
    expect(statSync(credential).mode & 0o777).toBe(0o640);
    expect(() => viaCredential.open(own.seal("x"))).toThrow(
      expect.objectContaining({ code: "SECRET_UNREADABLE" }),
    );
    expect(
      SecretBox.open(join(tmp.dir, "elsewhere"), { CREDENTIALS_DIRECTORY: creds }).open(
        viaCredential.seal("x"),
      ),
    ).toBe("x");
  });
});
