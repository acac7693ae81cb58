import { readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";

/** A system account as the hub's files see it. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  /** Every group id the account is in: its primary group and supplementary groups (/etc/group). */
  groups: number[];
}

/** Where accounts are read from; tests point these at their own copies. */
export interface AccountFiles {
  passwd: string;
  group: string;
}

const SYSTEM_FILES: AccountFiles = { passwd: "/etc/passwd", group: "/etc/group" };

function lines(file: string): string[][] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => l.split(":"));
  } catch {
    return [];
  }
}

/** The account named `who` (or with that uid), or undefined when there is none. */
export function lookupAccount(who: string | number, files: AccountFiles = SYSTEM_FILES): Account | undefined {
  const row = lines(files.passwd).find((f) =>
    typeof who === "number" ? Number(f[2]) === who : f[0] === who,
  );
  if (!row || row[0] === undefined) return undefined;
  const name = row[0];
  const uid = Number(row[2]);
  const gid = Number(row[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  const groups = new Set([gid]);
  for (const g of lines(files.group)) {
    const members = (g[3] ?? "").split(",");
    if (members.includes(name) && g[2] !== undefined) groups.add(Number(g[2]));
  }
  return { name, uid, gid, groups: [...groups] };
}

/** The gid of a group by name (dialout, bluetooth), or undefined. */
export function lookupGroup(name: string, files: AccountFiles = SYSTEM_FILES): number | undefined {
  const row = lines(files.group).find((g) => g[0] === name);
  return row?.[2] === undefined ? undefined : Number(row[2]);
}

/** The name of a group by id (for a fix such as `usermod -aG dialout pkb-hub`), or undefined. */
export function lookupGroupName(gid: number, files: AccountFiles = SYSTEM_FILES): string | undefined {
  return lines(files.group).find((g) => Number(g[2]) === gid)?.[0];
}

/** The account this process runs as. */
export function currentAccount(files: AccountFiles = SYSTEM_FILES): Account {
  const uid = process.getuid?.() ?? 0;
  const found = lookupAccount(uid, files);
  if (found) return found;
  const info = userInfo();
  return {
    name: info.username,
    uid,
    gid: process.getgid?.() ?? info.gid,
    groups: process.getgroups?.() ?? [],
  };
}

/** The account the service runs as by default (the install script creates it). */
export const DEFAULT_SERVICE_USER = "pkb-hub";

/**
 * The account that must own the hub's state: `hub.user` when configured; otherwise the owner of
 * the data directory (the install script makes it the service's); while there is no data directory
 * yet, the `pkb-hub` account when there is one; otherwise whoever runs this (a developer's machine,
 * the demo, a root-owned directory).
 */
export function serviceAccount(
  hub: { dataDir: string; user?: string | undefined },
  files: AccountFiles = SYSTEM_FILES,
): Account {
  if (hub.user !== undefined) {
    const named = lookupAccount(hub.user, files);
    if (named) return named;
  }
  const owner = statSync(hub.dataDir, { throwIfNoEntry: false })?.uid;
  if (owner !== undefined) return lookupAccount(owner, files) ?? currentAccount(files);
  return lookupAccount(DEFAULT_SERVICE_USER, files) ?? currentAccount(files);
}

/** Whether `account` may read (r), write (w) or search (x) a file with this mode and owner. */
export function permits(
  account: Account,
  st: { mode: number; uid: number; gid: number },
  want: "r" | "w" | "x",
): boolean {
  if (account.uid === 0) return want !== "x" || (st.mode & 0o111) !== 0;
  const bit = want === "r" ? 4 : want === "w" ? 2 : 1;
  if (st.uid === account.uid) return ((st.mode >> 6) & bit) !== 0;
  if (account.groups.includes(st.gid)) return ((st.mode >> 3) & bit) !== 0;
  return (st.mode & bit) !== 0;
}
