import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configJsonSchema, loadConfig, parseConfigText } from "../../src/config/load.js";
import { tempDir } from "../support/tmp.js";
import { problems } from "./problems.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");

describe("config", () => {
  it("accepts the example config and fills defaults", () => {
    const cfg = loadConfig(join(import.meta.dirname, "../../config/example.yaml"));
    expect(cfg.hub.id).toBe("hub-0001");
    expect(cfg.buffer.maxSize).toBe(512 * 1024 * 1024);
    expect(cfg.buffer.groupCommitMs).toBe(2);
    expect(cfg.patients[1]?.nhsNumber).toBe("9434765919");
    expect(cfg.routes.pkbRest?.tokenPath).toBe("/apiToken.action");
  });

  it("accepts JSON as well as YAML", () => {
    const cfg = parseConfigText(JSON.stringify({ hub: { id: "h1" } }));
    expect(cfg.hub.timeZone).toBe("Europe/London");
    expect(cfg.clock.mode).toBe("auto");
  });

  it("reports every problem at once, each with its path", () => {
    const found = problems(
      [
        "hub: { id: 'has space', timeZone: Mars/Olympus }",
        "buffer: { maxAttempts: 0, typo: 1 }",
        "patients:",
        "  - { key: a, route: hl7, nhsNumber: '9434765918' }",
        "  - { key: a, route: pkb-rest }",
        "devices:",
        "  - { id: d1, driver: x }",
        "  - { id: d2, driver: x, patient: nobody }",
      ].join("\n"),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^hub\.id: /),
        "hub.timeZone: unknown IANA time zone",
        expect.stringMatching(/^buffer\.maxAttempts: /),
        "buffer: unknown key(s): typo",
        "patients[0].nhsNumber: NHS number must be 10 digits with a valid Modulus 11 check digit",
        "patients[0].firstName: required for the hl7 route",
        "patients[0].route: routes.hl7 is not configured",
        "patients[1].key: duplicate patient key",
        "patients[1].route: routes.pkbRest is not configured",
        "devices[0]: device is bound to no patient (patient or userSlots)",
        "devices[1].patient: unknown patient 'nobody'",
      ]),
    );
  });

  it("an unresolved YAML alias or an alias bomb is a config problem, not an uncoded ReferenceError", () => {
    expect(problems("*x")).toEqual([
      "(document): YAML cannot be read: Unresolved alias (the anchor must be set before the alias): x",
    ]);
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${"bcdefghi"[i]}: &${"bcdefghi"[i]} [${Array(10)
          .fill(`*${i === 0 ? "a" : "bcdefghi"[i - 1]}`)
          .join(", ")}]`,
      );
    expect(problems(bomb.join("\n"))[0]).toMatch(/^\(document\): YAML cannot be read: Excessive alias count/);
  });

  it("reports YAML syntax errors with their line", () => {
    expect(problems("hub:\n  id: h\n  id: again\n")[0]).toMatch(/^line 3: /);
  });

  it("generates a JSON Schema from the same schema, matching the committed copy", () => {
    const schema = configJsonSchema();
    expect(schema.type).toBe("object");
    const committed = JSON.parse(
      readFileSync(join(import.meta.dirname, "../../config/pkb-hub.schema.json"), "utf8"),
    );
    expect(committed).toEqual(schema);
  });

  it("the CLI refuses an invalid config with every problem, exit 2 and no stack trace", () => {
    const file = join(tmp.dir, "bad.yaml");
    writeFileSync(file, "hub: { id: 'x y' }\nbuffer: { bogus: true }\n");
    const r = spawnSync("node", [CLI, "config", "check", file], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("2 problems");
    expect(r.stderr).toContain("buffer: unknown key(s): bogus");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const run = spawnSync("node", [CLI, "run", "--config", file], { encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("invalid configuration");
    const missing = spawnSync("node", [CLI, "run", "--config", join(tmp.dir, "nope.yaml")], {
      encoding: "utf8",
    });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("CONFIG_NOT_FOUND");
  });

  it("config check lists the problems and, with them, the warnings about the files an invalid config names", () => {
    const file = join(tmp.dir, "bad-files.yaml");
    const secret = join(tmp.dir, "no-such-secret");
    writeFileSync(
      file,
      `hub: { id: 'x y' }\nroutes: { pkbRest: { baseUrl: 'http://pkb.example', clientId: c, clientSecretFile: ${secret} } }\n`,
    );
    const r = spawnSync("node", [CLI, "config", "check", file], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("  ") || l.startsWith("warning: "))).toEqual([
      "  hub.id: hub id must be 1-64 letters, digits, '_', '.' or '-'",
      "  routes.pkbRest.baseUrl: uses cleartext http:// to pkb.example: only https:// is allowed beyond loopback",
      expect.stringMatching(
        new RegExp(
          `^warning: routes\\.pkbRest\\.clientSecretFile: ${secret} does not exist\\. Fix: put the PKB OAuth client secret there`,
        ),
      ),
    ]);
  });

  it("warns when a config holding demographics is readable by other users", () => {
    const file = join(tmp.dir, "phi.yaml");
    const example = readFileSync(join(import.meta.dirname, "../../config/example.yaml"), "utf8");
    writeFileSync(file, example, { mode: 0o644 });
    chmodSync(file, 0o644);
    const r = spawnSync("node", [CLI, "config", "check", file], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("readable by other users");
    chmodSync(file, 0o600);
    // The example's secret files are not on this machine: those warnings stay, the exposure one goes.
    const closed = spawnSync("node", [CLI, "config", "check", file], { encoding: "utf8" });
    expect(closed.status).toBe(0);
    expect(closed.stderr).not.toContain("holds patient demographics");
    expect(closed.stderr).toContain(
      "routes.pkbRest.clientSecretFile: /etc/pkb-hub/client-secret does not exist",
    );
  });

  it("the CLI rejects bad arguments clearly", () => {
    const r = spawnSync("node", [CLI, "outbox", "list", "--bogus"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("USAGE");
    const unknown = spawnSync("node", [CLI, "frobnicate"], { encoding: "utf8" });
    expect(unknown.status).toBe(2);
    const help = spawnSync("node", [CLI, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("pkb-hub run --config FILE");
  });
});
