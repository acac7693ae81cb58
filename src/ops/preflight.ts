import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { HubError } from "../core/errors.js";
import { listTree } from "./doctor.js";
import { dataDirFindings, referencedFileFindings } from "./files.js";
import { type Account, currentAccount, permits } from "./users.js";

/**
 * Before the agent starts: every file it will need that this account cannot use — left by a command
 * run as root, restored from a backup, copied by hand — named in one error with the account and the
 * command that fixes it, instead of a generic failure deep inside (SQLite's "unable to open
 * database file", a link silently unusable).
 */
export function assertFilesUsable(config: Config, account: Account = currentAccount()): void {
  if (account.uid === 0) return;
  const dir = resolve(config.hub.dataDir);
  const problems: string[] = [];
  const fixes = new Set<string>();
  // Others being able to open it is doctor's warning, not a reason to stop the readings.
  for (const f of dataDirFindings(dir, account).filter((x) => !x.problem.startsWith("holds"))) {
    problems.push(`${f.file} ${f.problem}`);
    fixes.add(f.fix);
  }
  let foreign = 0;
  for (const rel of listTree(dir)) {
    const st = statSync(join(dir, rel), { throwIfNoEntry: false });
    if (!st) continue;
    const ok =
      permits(account, st, "r") &&
      permits(account, st, "w") &&
      (!st.isDirectory() || permits(account, st, "x"));
    if (ok) continue;
    foreign++;
    problems.push(`${join(dir, rel)} (owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
  }
  if (foreign > 0) fixes.add(`sudo chown -R ${account.name}: ${dir}`);
  for (const f of referencedFileFindings(config, account)) {
    if (!f.problem.startsWith("cannot be read")) continue;
    problems.push(`${f.file} (${f.field})`);
    fixes.add(`sudo chown ${account.name} ${f.file}`);
  }
  if (problems.length === 0) return;
  throw new HubError(
    "DATA_DIR_UNUSABLE",
    `the agent runs as ${account.name} (uid ${account.uid}) and cannot use ${problems.length} file(s): ${problems.join("; ")}. Fix: ${[...fixes].join(" && ")} (files written by a command run as root; pkb-hub commands now leave them to ${account.name})`,
    { details: { dir } },
  );
}
