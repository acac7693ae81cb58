import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readSecretFile, SecretBox, writeFileAtomic } from "../../src/core/secrets.js";
import { TokenStore } from "../../src/forward/pkb-rest/token-store.js";
import { mountSmallFs } from "../support/small-fs.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe("secret box and atomic writes", () => {
  it("creates a 0600 256-bit key in the data directory and round-trips; ciphertext hides the text", () => {
    const box = SecretBox.open(tmp.dir, {});
    const key = join(tmp.dir, "secret.key");
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(key, "utf8"), "base64")).toHaveLength(32);
    const sealed = box.seal("refresh-token-123");
    expect(sealed).not.toContain("refresh-token-123");
    expect(box.seal("refresh-token-123")).not.toBe(sealed); // fresh IV each time
    expect(SecretBox.open(tmp.dir, {}).open(sealed)).toBe("refresh-token-123");
  });

  it("uses the systemd credential when there is one", () => {
    const creds = join(tmp.dir, "creds");
    mkdirSync(creds);
    writeFileSync(join(creds, "pkb-hub-key"), Buffer.alloc(32, 7).toString("base64"));
    const box = SecretBox.open(join(tmp.dir, "data"), { CREDENTIALS_DIRECTORY: creds });
    expect(() => statSync(join(tmp.dir, "data", "secret.key"))).toThrow();
    const other = SecretBox.open(join(tmp.dir, "data2"), { CREDENTIALS_DIRECTORY: creds });
    expect(other.open(box.seal("x"))).toBe("x");
  });

  it("tampered data, a wrong key or a short key is SECRET_UNREADABLE", () => {
    const box = SecretBox.open(tmp.dir, {});
    const sealed = box.seal("secret");
    const parts = sealed.split(".");
    const flipped = [parts[0], parts[1], parts[2], Buffer.from("Secret").toString("base64")].join(".");
    expect(() => box.open(flipped)).toThrow(expect.objectContaining({ code: "SECRET_UNREADABLE" }));
    expect(() => SecretBox.open(join(tmp.dir, "other"), {}).open(sealed)).toThrow(
      expect.objectContaining({ code: "SECRET_UNREADABLE" }),
    );
    mkdirSync(join(tmp.dir, "short"));
    writeFileSync(join(tmp.dir, "short", "secret.key"), Buffer.from("short").toString("base64"));
    expect(() => SecretBox.open(join(tmp.dir, "short"), {})).toThrow(
      expect.objectContaining({ code: "SECRET_UNREADABLE" }),
    );
  });

  it("a context is bound as associated data: sealed data opens only with the same context, never across formats", () => {
    const box = SecretBox.open(tmp.dir, {});
    const forP1 = box.seal("link of p1", "patient=p1");
    expect(box.open(forP1, "patient=p1")).toBe("link of p1");
    expect(() => box.open(forP1, "patient=p2")).toThrow(
      expect.objectContaining({
        code: "SECRET_UNREADABLE",
        message: "sealed data cannot be decrypted (sealed for another owner, with another key, or tampered)",
      }),
    );
    expect(() => box.open(forP1)).toThrow(
      expect.objectContaining({
        code: "SECRET_UNREADABLE",
        message: "sealed for an owner that was not given",
      }),
    );
    // Data sealed without a context (older link files) is not taken where a context is expected.
    expect(() => box.open(box.seal("unbound"), "patient=p1")).toThrow(
      expect.objectContaining({
        code: "SECRET_UNREADABLE",
        message: "sealed in an older format that is not bound to its owner",
      }),
    );
  });

  it("writeFileAtomic: 0600 even over a looser file, no temp file left", () => {
    const file = join(tmp.dir, "d", "f");
    mkdirSync(join(tmp.dir, "d"));
    writeFileSync(file, "old", { mode: 0o644 });
    writeFileSync(`${file}.tmp-${process.pid}`, "crash leftover", { mode: 0o644 });
    writeFileAtomic(file, "new");
    expect(readFileSync(file, "utf8")).toBe("new");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(tmp.dir, "d"))).toEqual(["f"]);
  });

  it("a missing secret file is SECRET_UNREADABLE; a trailing newline is ignored", () => {
    expect(() => readSecretFile(join(tmp.dir, "nope"))).toThrow(
      expect.objectContaining({ code: "SECRET_UNREADABLE" }),
    );
    writeFileSync(join(tmp.dir, "s"), "pw\n");
    expect(readSecretFile(join(tmp.dir, "s"))).toBe("pw");
  });
});

describe("on a full disk", () => {
  it("writeFileAtomic leaves no partial temp file; the token store asks for room and saves a link", (ctx) => {
    const fs = mountSmallFs(256 * 1024);
    if (!fs) return ctx.skip("mounting a tmpfs is not permitted here (needs root)");
    try {
      const reserve = join(fs.dir, "reserve");
      writeFileSync(reserve, Buffer.alloc(64 * 1024));
      const box = SecretBox.open(fs.dir, {});
      mkdirSync(join(fs.dir, "links"));
      // Another file takes every last block.
      writeFileSync(join(fs.dir, "filler"), Buffer.alloc(0));
      for (let size = 64 * 1024; size >= 512; size /= 2) {
        try {
          for (;;) appendFileSync(join(fs.dir, "filler"), Buffer.alloc(size, 1));
        } catch (err) {
          expect(err).toMatchObject({ code: "ENOSPC" });
        }
      }
      const big = Buffer.alloc(32 * 1024, 2);
      expect(() => writeFileAtomic(join(fs.dir, "links", "x"), big)).toThrow(/ENOSPC/);
      expect(readdirSync(join(fs.dir, "links"))).toEqual([]);
      let asked = 0;
      const store = new TokenStore(join(fs.dir, "links"), box, () => {
        asked++;
        rmSync(reserve, { force: true });
        return true;
      });
      const link = {
        state: "linked" as const,
        accessToken: "a".repeat(8000),
        refreshToken: "r".repeat(8000),
        expiresAtMs: 1,
        pkbId: "pkb-ann",
        linkedAtMs: 1,
      };
      store.put("p1", link);
      expect(asked).toBe(1);
      expect(store.get("p1")).toMatchObject({ refreshToken: link.refreshToken });
    } finally {
      fs.cleanup();
    }
  });
});
