import { readFileSync, statSync } from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";
import { HubError, messageOf } from "../core/errors.js";
import { type Config, configSchema } from "./schema.js";

export interface ConfigProblem {
  path: string;
  message: string;
}

/** Config errors carry every problem at once, each with its path, so a technician fixes all in one go. */
export class ConfigError extends HubError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super("CONFIG_INVALID", formatProblems(file, problems));
  }
}

export function formatProblems(file: string, problems: ConfigProblem[]): string {
  const head = `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  return [head, ...problems.map((p) => `  ${p.path || "(top level)"}: ${p.message}`)].join("\n");
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}

/** Validate an already-parsed object. */
export function parseConfig(raw: unknown, file = "config"): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    path: pathText(issue.path),
    message: issue.code === "unrecognized_keys" ? `unknown key(s): ${issue.keys.join(", ")}` : issue.message,
  }));
  throw new ConfigError(file, problems);
}

/** Parse YAML or JSON text (JSON is YAML), reporting every syntax error with its line. */
export function parseConfigText(text: string, file = "config"): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: `line ${e.linePos?.[0]?.line ?? "?"}`,
        message: e.message.split("\n")[0] ?? e.code,
      })),
    );
  }
  let raw: unknown;
  try {
    // Aliases are resolved here: an undefined one, or an alias bomb beyond the library's count, throws.
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(file, [{ path: "(document)", message: `YAML cannot be read: ${messageOf(err)}` }]);
  }
  return parseConfig(raw, file);
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new HubError("CONFIG_NOT_FOUND", `cannot read config ${file}: ${messageOf(err)}`, { cause: err });
  }
  return parseConfigText(text, file);
}

/** The JSON Schema of the config file, generated from the one zod schema. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

/** Warnings that do not stop the agent but a technician must see (e.g. PHI in a world-readable file). */
export function configWarnings(file: string, config: Config): string[] {
  const warnings: string[] = [];
  const holdsPhi = config.patients.some((p) => p.nhsNumber || p.firstName || p.lastName || p.dob);
  try {
    const mode = statSync(file).mode & 0o777;
    if (holdsPhi && (mode & 0o077) !== 0) {
      warnings.push(
        `${file} holds patient demographics and is readable by other users (mode ${mode.toString(8)}): chmod 600 it`,
      );
    }
  } catch {
    // the file was just read; a race here is not worth failing over
  }
  return warnings;
}
