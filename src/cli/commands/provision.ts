import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { driverById } from "../../../drivers/index.js";
import type { Config } from "../../config/schema.js";
import { HubError, messageOf } from "../../core/errors.js";
import { systemProbes } from "../../ops/doctor-probes.js";
import { linkStates, runningAgentPid } from "../../ops/hub-state.js";
import { type Answers, answersSchema, applyAnswers } from "../../ops/provision/answers.js";
import { interview } from "../../ops/provision/interview.js";
import { streamPrompter } from "../../ops/provision/prompter.js";
import { readExisting, writeProvision } from "../../ops/provision/write.js";
import { type CliIo, type Command, parse } from "../io.js";
import { reportDoctor } from "./doctor.js";

export const DEFAULT_CONFIG = "/etc/pkb-hub/config.yaml";

function readAnswers(file: string): Answers {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new HubError("USAGE", `cannot read the answers file ${file}: ${messageOf(err)}`, { cause: err });
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new HubError("USAGE", `${file}: ${doc.errors.map((e) => e.message.split("\n")[0]).join("; ")}`);
  const parsed = answersSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success)
    throw new HubError(
      "USAGE",
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.code === "unrecognized_keys" ? `unknown key(s): ${i.keys.join(", ")}` : i.message}`).join("; ")}`,
    );
  return parsed.data;
}

/** What the technician does next: start or reload, link each REST patient, bond BLE devices. */
export function nextSteps(file: string, config: Config): string[] {
  const steps: string[] = [];
  steps.push(
    runningAgentPid(config.hub.dataDir) === undefined
      ? "start the service: systemctl enable --now pkb-hub"
      : "apply the change to the running agent: systemctl reload pkb-hub",
  );
  const links = linkStates(config);
  for (const p of config.patients)
    if (p.route === "pkb-rest" && links.get(p.key)?.state !== "linked")
      steps.push(`link ${p.key} to their PKB account: pkb-hub link ${p.key} --config ${file}`);
  for (const d of config.devices) {
    if (d.simulate || driverById(d.driver).matcher.transport !== "ble") continue;
    steps.push(
      `${d.id}: take a measurement near the hub; if the device asks to pair (a PIN or code on its screen), bond it once: bluetoothctl, then 'pair ${d.bleAddress ?? "<address>"}' and 'trust ${d.bleAddress ?? "<address>"}'`,
    );
  }
  steps.push(`check it: pkb-hub status --config ${file}`);
  return steps;
}

async function provisionRun(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    config: { type: "string", short: "c", default: DEFAULT_CONFIG },
    answers: { type: "string" },
    "no-doctor": { type: "boolean", default: false },
  });
  const file = values.config ?? DEFAULT_CONFIG;
  const existing = readExisting(file);
  let answers: Answers;
  if (values.answers !== undefined) answers = readAnswers(values.answers);
  else {
    const tty = process.stdin.isTTY === true;
    const prompter = streamPrompter(process.stdin, (t) => process.stderr.write(t), tty);
    try {
      io.err(
        existing
          ? `Editing ${file}: Enter keeps the value in brackets.`
          : `Provisioning a new hub in ${file}.`,
      );
      answers = await interview(prompter, existing?.raw);
    } finally {
      prompter.close();
    }
  }
  process.umask(0o077);
  const plan = applyAnswers(existing?.raw, answers, file);
  const written = writeProvision(file, plan, existing);
  io.out(
    `wrote ${file} (${written.config.patients.length} patient(s), ${written.config.devices.length} device(s))`,
  );
  for (const c of plan.changes) io.out(`  ${c}`);
  for (const s of plan.secrets) io.out(`  secret for ${s.field} written to ${s.file} (0600)`);
  io.out(
    written.keyCreated
      ? `  generated the encryption key ${written.config.hub.dataDir}/secret.key (0600)`
      : "  kept the existing encryption key",
  );
  io.out(`  files owned by ${written.account.name}`);
  if (!values["no-doctor"]) {
    io.out("");
    io.out("doctor:");
    await reportDoctor(file, false, io, systemProbes());
  }
  io.out("");
  io.out("next:");
  for (const [i, step] of nextSteps(file, written.config).entries()) io.out(`  ${i + 1}. ${step}`);
  return 0;
}

export const provision: Command = {
  name: "provision",
  usage: `pkb-hub provision [--config FILE] [--answers FILE] [--no-doctor]`,
  summary: `set up or edit this hub: identity, PKB, patients, devices, MQTT, secrets (0600), key; then doctor (default config ${DEFAULT_CONFIG})`,
  run: provisionRun,
};
