import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import { HubError } from "./errors.js";

function whoAmI(): string {
  try {
    const u = userInfo();
    return `user ${u.username} (uid ${u.uid})`;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

function unusable(dir: string, why: string, fix: string): HubError {
  return new HubError("DATA_DIR_UNUSABLE", `data directory ${dir} ${why}. Fix: ${fix}`, {
    details: { dir },
  });
}

function fromErrno(dir: string, at: string, err: NodeJS.ErrnoException): HubError {
  const code = err.code ?? "error";
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return unusable(
      dir,
      `cannot be created or written by ${whoAmI()} (${code} at ${at})`,
      code === "EROFS"
        ? "set hub.dataDir to a directory on a writable file system (default /var/lib/pkb-hub)"
        : `sudo install -d -o ${userInfo().username} -m 0700 ${dir} (or set hub.dataDir to a directory this user owns)`,
    );
  }
  if (code === "ENOTDIR" || code === "EEXIST") {
    return unusable(
      dir,
      `cannot be made: ${at} is a file, not a directory`,
      "set hub.dataDir to a directory (default /var/lib/pkb-hub) or move the file away",
    );
  }
  // ENOENT from mkdir under /proc or /sys: a file system that holds no files of ours.
  return unusable(
    dir,
    `cannot be created (${code} at ${at}; /proc, /sys and /dev hold no files)`,
    "set hub.dataDir to a directory on disk (default /var/lib/pkb-hub)",
  );
}

/**
 * Makes sure `dir` is a directory this process can write, creating missing parents one at a time
 * (0700). Node's own `mkdirSync(…, { recursive: true })` loops forever — synchronously, so SIGTERM
 * is never handled — when the file system answers ENOENT to mkdir, as /proc does. Every failure is
 * one DATA_DIR_UNUSABLE error saying what is wrong and the fix.
 */
export function ensureDataDir(dir: string): void {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory())
        throw fromErrno(target, p, Object.assign(new Error(), { code: "ENOTDIR" }));
      break;
    } catch (err) {
      if (err instanceof HubError) throw err;
      const e = err as NodeJS.ErrnoException;
      if (e.code !== "ENOENT") throw fromErrno(target, p, e);
      missing.unshift(p);
      if (dirname(p) === p) break;
    }
  }
  for (const p of missing) {
    try {
      mkdirSync(p, { mode: 0o700 });
    } catch (err) {
      throw fromErrno(target, p, err as NodeJS.ErrnoException);
    }
  }
  try {
    accessSync(target, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw fromErrno(target, target, err as NodeJS.ErrnoException);
  }
}
