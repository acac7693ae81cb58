import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { configWarnings, invalidConfigFileWarnings } from "../../src/ops/config-warnings.js";
import type { Account } from "../../src/ops/users.js";
import { tempDir } from "../support/tmp.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Someone who is not root and owns nothing here: permission checks are made as this account. */
const STRANGER: Account = { name: "stranger", uid: 4242, gid: 4242, groups: [4242] };
const ROOT: Account = { name: "root", uid: 0, gid: 0, groups: [0] };

function configWith(dir: string, extra: Record<string, unknown> = {}) {
  return parseConfig({
    hub: { id: "h1", dataDir: join(dir, "data") },
    patients: [{ key: "p1", route: "pkb-rest", nhsNumber: "9434765919" }],
    routes: {
      pkbRest: {
        baseUrl: "https://pkb.example",
        clientId: "c",
        clientSecretFile: join(dir, "client-secret"),
      },
      hl7: {
        url: "https://pkb.example/hl7",
        username: "u",
        passwordFile: join(dir, "hl7-password"),
        sendingFacility: "X",
      },
    },
    ...extra,
  });
}

describe("config warnings", () => {
  it("names a missing secret file, an exposed one and one the service account cannot read, each with its fix", () => {
    const dir = join(tmp.dir, "secrets");
    mkdirSync(dir);
    const cfgFile = join(dir, "c.yaml");
    writeFileSync(cfgFile, "", { mode: 0o600 });
    writeFileSync(join(dir, "client-secret"), "s", { mode: 0o644 });
    chmodSync(join(dir, "client-secret"), 0o644);
    const config = configWith(dir);
    expect(configWarnings(cfgFile, config, ROOT)).toEqual([
      `routes.pkbRest.clientSecretFile: ${join(dir, "client-secret")} holds the PKB OAuth client secret and other users can read it (mode 644). Fix: chmod 600 ${join(dir, "client-secret")} (and have the secret changed if others may have read it)`,
      `routes.hl7.passwordFile: ${join(dir, "hl7-password")} does not exist. Fix: put the PKB HL7 partner password there: pkb-hub provision writes it, or install -m 600 -o root /dev/stdin ${join(dir, "hl7-password")}`,
    ]);
    chmodSync(join(dir, "client-secret"), 0o600);
    const asStranger = configWarnings(cfgFile, config, STRANGER);
    expect(asStranger).toContain(
      `routes.pkbRest.clientSecretFile: ${join(dir, "client-secret")} cannot be read by the service account stranger (owner uid 0, mode 600). Fix: chown stranger ${join(dir, "client-secret")}`,
    );
  });

  it("says when the data directory is a file or the service account cannot write it", () => {
    const dir = join(tmp.dir, "datadir");
    mkdirSync(dir);
    const cfgFile = join(dir, "c.yaml");
    writeFileSync(cfgFile, "", { mode: 0o600 });
    writeFileSync(join(dir, "client-secret"), "s", { mode: 0o600 });
    writeFileSync(join(dir, "hl7-password"), "s", { mode: 0o600 });
    writeFileSync(join(dir, "data"), "not a directory");
    expect(configWarnings(cfgFile, configWith(dir), ROOT)).toEqual([
      `hub.dataDir: ${join(dir, "data")} is a file, not a directory. Fix: move the file away, then install -d -o root -m 0700 ${join(dir, "data")}`,
    ]);
    const other = join(tmp.dir, "datadir2");
    mkdirSync(join(other, "data"), { recursive: true, mode: 0o700 });
    chmodSync(join(other, "data"), 0o700);
    const warnings = configWarnings(cfgFile, configWith(other), STRANGER);
    expect(warnings[0]).toBe(
      `hub.dataDir: ${join(other, "data")} cannot be written by the service account stranger (owner uid 0, mode 700). Fix: chown -R stranger: ${join(other, "data")} && chmod 700 ${join(other, "data")}`,
    );
  });

  it("warns about a REST patient without an NHS number, naming the patient key only", () => {
    const dir = join(tmp.dir, "nonhs");
    mkdirSync(dir);
    const cfgFile = join(dir, "c.yaml");
    writeFileSync(cfgFile, "", { mode: 0o600 });
    writeFileSync(join(dir, "client-secret"), "s", { mode: 0o600 });
    writeFileSync(join(dir, "hl7-password"), "s", { mode: 0o600 });
    const config = configWith(dir, { patients: [{ key: "p9", route: "pkb-rest" }] });
    expect(configWarnings(cfgFile, config, ROOT)).toEqual([
      "patients[0] (p9): no nhsNumber: linking cannot check that the approving PKB account is this patient's (only --accept-unverified links it); add the NHS number",
    ]);
  });

  it("a config that fails validation still has its data dir and every secret file it names checked", () => {
    const dir = join(tmp.dir, "invalid");
    mkdirSync(dir);
    writeFileSync(join(dir, "data"), "not a directory");
    writeFileSync(join(dir, "mqtt-password"), "s", { mode: 0o644 });
    chmodSync(join(dir, "mqtt-password"), 0o644);
    const raw = {
      hub: { id: "has space", dataDir: join(dir, "data") },
      routes: {
        pkbRest: { baseUrl: "http://pkb.example", clientSecretFile: join(dir, "client-secret") },
        hl7: { passwordFile: 5 },
      },
      monitor: { mqtt: { passwordFile: join(dir, "mqtt-password") } },
    };
    expect(invalidConfigFileWarnings(raw, ROOT)).toEqual([
      `hub.dataDir: ${join(dir, "data")} is a file, not a directory. Fix: move the file away, then install -d -o root -m 0700 ${join(dir, "data")}`,
      `routes.pkbRest.clientSecretFile: ${join(dir, "client-secret")} does not exist. Fix: put the PKB OAuth client secret there: pkb-hub provision writes it, or install -m 600 -o root /dev/stdin ${join(dir, "client-secret")}`,
      `monitor.mqtt.passwordFile: ${join(dir, "mqtt-password")} holds the MQTT broker password and other users can read it (mode 644). Fix: chmod 600 ${join(dir, "mqtt-password")} (and have the secret changed if others may have read it)`,
    ]);
    expect(invalidConfigFileWarnings(undefined, ROOT)).toEqual([]);
    expect(invalidConfigFileWarnings([1, 2], ROOT)).toEqual([]);
  });
});
