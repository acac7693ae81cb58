import { ConfigError, parseConfigText } from "../../src/config/load.js";

/** Every problem the loader reports for a config text, as `path: message`; throws if it is accepted. */
export function problems(text: string): string[] {
  try {
    parseConfigText(text, "c.yaml");
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  throw new Error("expected the config to be refused");
}
