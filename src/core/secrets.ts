import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { HubError, messageOf } from "./errors.js";

/** Writes a file atomically and durably, 0600: temp file, fsync, rename, fsync of the directory. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  // A temp file left by a crash may carry another mode: start afresh, exclusive and 0600.
  rmSync(tmp, { force: true });
  try {
    writeNewDurably(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    // A full disk: the partial temp file would keep eating the space the next attempt needs.
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(file));
}

/** Creates `file` (it must not exist), 0600, with `data`, flushed to disk. */
function writeNewDurably(file: string, data: string | Uint8Array): void {
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * Creates `file` (0600) holding `data` unless it already exists. Atomic against a racing creator in
 * another process: the data is written whole to a temp file first, then hard-linked to the final
 * name, which fails if that name exists — so exactly one creator wins, nobody overwrites the
 * winner, and nobody ever sees a partial file. Returns whether this call created it.
 */
export function createFileExclusive(file: string, data: string | Uint8Array): boolean {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  writeNewDurably(tmp, data);
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new HubError("SECRET_UNREADABLE", `cannot create ${file}: ${messageOf(err)}`, { cause: err });
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
  return true;
}

/** Whether a secret file can be read or written by other users (it should be 0600 or 0400). */
export function isSecretFileExposed(file: string): boolean {
  const st = statSync(file, { throwIfNoEntry: false });
  return st !== undefined && (st.mode & 0o077) !== 0;
}

function accountName(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

/** Reads a secret (client secret, partner password) from a file; trailing newline ignored. */
export function readSecretFile(file: string): string {
  try {
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Which account met the file and what to type: usually a file written by root for the service.
    const fix =
      code === "EACCES" || code === "EPERM"
        ? ` (read as ${accountName()}). Fix: sudo chown ${accountName()} ${file} && sudo chmod 600 ${file}`
        : "";
    throw new HubError("SECRET_UNREADABLE", `cannot read secret file ${file}: ${messageOf(err)}${fix}`, {
      cause: err,
    });
  }
}

/**
 * AES-256-GCM for tokens at rest. The key lives in a systemd credential ($CREDENTIALS_DIRECTORY/
 * pkb-hub-key) when the service provides one, else in a 0600 file in the data directory.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static open(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
    const credential = env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, "pkb-hub-key") : undefined;
    const file = credential && existsSync(credential) ? credential : join(dataDir, "secret.key");
    // Two processes starting at once (agent and a CLI command) may both find no key: one creates
    // it, and both then use the key that is on disk — never one of their own that lost the race.
    if (!existsSync(file)) createFileExclusive(file, randomBytes(32).toString("base64"));
    // A key file others can read (restored from a backup, copied by hand) is closed again: the key
    // unlocks every patient's link. The systemd credential is the service manager's to protect.
    if (file !== credential && isSecretFileExposed(file)) chmodSync(file, 0o600);
    const key = Buffer.from(readSecretFile(file).trim(), "base64");
    if (key.length !== 32)
      throw new HubError("SECRET_UNREADABLE", `key file ${file} does not hold a 256-bit key`);
    return new SecretBox(key);
  }

  /**
   * Seals `plaintext`. With a `context` (e.g. which patient a link belongs to) the context is bound
   * as AES-GCM associated data: the sealed text opens only with the same context, so a file copied
   * over another one's place does not open there.
   */
  seal(plaintext: string, context?: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    if (context !== undefined) cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [
      context === undefined ? "v1" : "v2",
      iv.toString("base64"),
      cipher.getAuthTag().toString("base64"),
      body.toString("base64"),
    ].join(".");
  }

  /** Opens what `seal` made with the same context (none for v1); SECRET_UNREADABLE saying why otherwise. */
  open(sealed: string, context?: string): string {
    const [version, iv, tag, body] = sealed.trim().split(".");
    if ((version !== "v1" && version !== "v2") || !iv || !tag || body === undefined)
      throw new HubError("SECRET_UNREADABLE", "sealed data is malformed");
    if (version === "v1" && context !== undefined)
      throw new HubError("SECRET_UNREADABLE", "sealed in an older format that is not bound to its owner");
    if (version === "v2" && context === undefined)
      throw new HubError("SECRET_UNREADABLE", "sealed for an owner that was not given");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
      if (context !== undefined) decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
    } catch (err) {
      throw new HubError(
        "SECRET_UNREADABLE",
        context === undefined
          ? "sealed data cannot be decrypted (wrong key or tampered)"
          : "sealed data cannot be decrypted (sealed for another owner, with another key, or tampered)",
        { cause: err },
      );
    }
  }
}
