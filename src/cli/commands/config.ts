import { writeFileSync } from "node:fs";
import { configJsonSchema, loadConfig } from "../../config/load.js";
import { configWarnings } from "../../ops/config-warnings.js";
import { type Command, parse } from "../io.js";

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
    const config = loadConfig(file);
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
