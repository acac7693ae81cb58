import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Document, parseDocument } from "yaml";
import { ConfigError, parseConfig } from "../../config/load.js";
import type { Config } from "../../config/schema.js";
import { ensureDataDir } from "../../core/data-dir.js";
import { HubError, messageOf } from "../../core/errors.js";
import { SecretBox, writeFileAtomic } from "../../core/secrets.js";
import { handOver } from "../privileges.js";
import { type Account, currentAccount, serviceAccount } from "../users.js";
import { documentText, editInPlace } from "../yaml-edit.js";
import type { Plan } from "./answers.js";
import { writableProblem } from "./validate.js";

/** The existing configuration as a YAML document (comments kept), or none. */
export function readExisting(file: string): { doc: Document; raw: unknown } | undefined {
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new HubError("CONFIG_NOT_FOUND", `cannot read ${file}: ${messageOf(err)}`, { cause: err });
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: `line ${e.linePos?.[0]?.line ?? "?"}`,
        message: e.message.split("\n")[0] ?? e.code,
      })),
    );
  return { doc, raw: doc.toJS() ?? {} };
}

export interface Written {
  config: Config;
  account: Account;
  files: string[];
  keyCreated: boolean;
}

function refuseUnwritable(path: string, what: string): void {
  const problem = writableProblem(path);
  if (!problem) return;
  const me = currentAccount();
  throw new HubError(
    "USAGE",
    `cannot write ${what} ${path}: ${problem} for user ${me.name} (uid ${me.uid}). Fix: run provision as root (sudo pkb-hub provision …), or choose a location this user can write`,
  );
}

/**
 * Validates the whole configuration, then writes it: secrets (0600), the config (0600), the data
 * directory (0700) and the encryption key — all the service account's. Nothing is written when the
 * configuration is invalid or a location cannot be written.
 */
export function writeProvision(
  file: string,
  plan: Plan,
  existing: { doc: Document; raw: unknown } | undefined,
): Written {
  const config = parseConfig(plan.raw, file);
  const account = serviceAccount(config.hub);
  refuseUnwritable(file, "the configuration");
  for (const s of plan.secrets) refuseUnwritable(s.file, `the secret file for ${s.field}`);
  refuseUnwritable(join(config.hub.dataDir, "secret.key"), "the data directory");

  const created: string[] = [];
  const makeDir = (dir: string) => {
    const missing: string[] = [];
    for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
    if (missing.length === 0) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    created.push(...missing);
  };
  const files: string[] = [];
  for (const s of plan.secrets) {
    makeDir(dirname(s.file));
    writeFileAtomic(s.file, `${s.value}\n`);
    files.push(s.file);
  }
  // Only what changed is edited: comments and the layout of everything else in the file stay.
  const doc = existing?.doc ?? new Document({});
  const before = (existing?.raw ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(plan.raw)) editInPlace(doc, [k], before[k], v);
  makeDir(dirname(file));
  writeFileAtomic(file, documentText(doc));
  files.push(file);

  const dataDir = resolve(config.hub.dataDir);
  const hadDataDir = existsSync(dataDir);
  ensureDataDir(dataDir);
  if (!hadDataDir) created.push(dataDir);
  const keyFile = join(dataDir, "secret.key");
  const keyCreated = !existsSync(keyFile) && !process.env.CREDENTIALS_DIRECTORY;
  SecretBox.open(dataDir);
  if (existsSync(keyFile)) files.push(keyFile);
  handOver(account, ...created.filter((d) => d !== "/"), ...files);
  return { config, account, files, keyCreated };
}
