import { chownSync, existsSync, lstatSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensureDataDir } from "../core/data-dir.js";
import { HubError, messageOf } from "../core/errors.js";
import type { Account } from "./users.js";

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * A command that reads or writes hub state in the data directory (`link`, `outbox retry`,
 * `status`), run by root, becomes the service account first: every file it creates (the buffer's
 * WAL and shared-memory files, a link, the key) is then the service's own, exactly as the service
 * would have made it. Nothing happens for anyone else. Irreversible for this process, by design.
 */
export function becomeServiceAccount(account: Account): void {
  if (!isRoot() || account.uid === 0) return;
  try {
    process.setgroups?.(account.groups);
    process.setgid?.(account.gid);
    process.setuid?.(account.uid);
  } catch (err) {
    throw new HubError("USAGE", `cannot switch to the service account ${account.name}: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

/**
 * Gives files a root-run command wrote outside the data directory (the config, secret files) or
 * before the service account could write there (the data directory itself, the key) to the service
 * account. Directories are handed over with everything in them. Nothing happens for anyone else.
 */
export function handOver(account: Account, ...paths: string[]): void {
  if (!isRoot() || account.uid === 0) return;
  const walk = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.isSymbolicLink()) return;
    chownSync(p, account.uid, account.gid);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  for (const p of paths) walk(p);
}

/**
 * For a command about to write hub state in the data directory (`link`, `outbox retry`): run by
 * root, it first makes a missing data directory for the service account, then becomes that
 * account, so everything it writes is the service's. Anyone else goes on as themselves.
 */
export function actAsService(dataDir: string, account: Account): void {
  if (!isRoot() || account.uid === 0) return;
  const dir = resolve(dataDir);
  if (!existsSync(dir)) {
    ensureDataDir(dir);
    handOver(account, dir);
  }
  becomeServiceAccount(account);
}
