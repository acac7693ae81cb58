import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigError, configJsonSchema, loadConfig } from "../../config/load.js";
import type { Config } from "../../config/schema.js";
import { configWarnings, invalidConfigFileWarnings } from "../../ops/config-warnings.js";
import { type Command, parse } from "../io.js";

/** The document as written, or undefined when it cannot even be read as YAML. */
function rawDocument(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, "utf8"), { maxAliasCount: 100 });
  } catch {
    return undefined;
  }
}

export const configCheck: Command = {
  name: "config check",
  usage: "pkb-hub config check FILE",
  summary: "validate a configuration file and list every problem",
  async run(args, io) {
    const { positionals } = parse(args, {}, true);
    const file = positionals[0];
    if (!file || positionals.length > 1) {
      io.err(`usage: ${this.usage}`);
      return 2;
    }
    let config: Config;
    try {
      config = loadConfig(file);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Every problem at once: the files it names are checked too, not only once it is valid.
      io.err(`invalid configuration: ${err.message}`);
      for (const w of invalidConfigFileWarnings(rawDocument(file))) io.err(`warning: ${w}`);
      return 2;
    }
    for (const w of configWarnings(file, config)) io.err(`warning: ${w}`);
    io.out(
      `${file}: OK (hub ${config.hub.id}, ${config.patients.length} patient(s), ${config.devices.length} device(s))`,
    );
    return 0;
  },
};

export const configSchemaCmd: Command = {
  name: "config schema",
  usage: "pkb-hub config schema [--out FILE]",
  summary: "print (or write) the JSON Schema of the configuration file",
  async run(args, io) {
    const { values } = parse(args, { out: { type: "string" } });
    const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
    if (values.out) writeFileSync(values.out, text);
    else io.out(text.trimEnd());
    return 0;
  },
};
