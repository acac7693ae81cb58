import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";
import { HubError, messageOf } from "../core/errors.js";
import { crossFieldIssues } from "./checks.js";
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
  // zod skips the schema's cross-field checks once a field is wrong: run them on the raw input so
  // the technician sees every problem now, not the rest after fixing these.
  const seen = new Set(problems.map((p) => `${p.path}\n${p.message}`));
  for (const issue of crossFieldIssues(raw)) {
    const problem = { path: pathText(issue.path), message: issue.message };
    if (!seen.has(`${problem.path}\n${problem.message}`)) problems.push(problem);
  }
  throw new ConfigError(file, problems.sort(byPath));
}

const SECTIONS = ["hub", "clock", "log", "buffer", "patients", "devices", "routes", "monitor"];

/** Section by section in the schema's order, each patient or device together; stable otherwise. */
function byPath(a: ConfigProblem, b: ConfigProblem): number {
  const rank = (p: ConfigProblem): [number, number] => {
    const section = SECTIONS.indexOf(/^[^.[]*/.exec(p.path)?.[0] ?? "");
    const index = /^[^.[]*\[(\d+)\]/.exec(p.path)?.[1];
    return [section === -1 ? SECTIONS.length : section, index === undefined ? -1 : Number(index)];
  };
  const [sa, ia] = rank(a);
  const [sb, ib] = rank(b);
  return sa - sb || ia - ib;
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
