import { chmodSync, mkdirSync, rmSync, type Stats, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { doctorResults, reportDoctor } from "../../src/cli/commands/doctor.js";
import type { CliIo } from "../../src/cli/io.js";
import { type CheckResult, type DoctorProbes, listTree } from "../../src/ops/doctor.js";
import type { Account } from "../../src/ops/users.js";
import { tempDir } from "../support/tmp.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
/** The service account: not root, so permissions are judged as the service would meet them. */
const SERVICE: Account = { name: "svc", uid: 4242, gid: 4242, groups: [4242] };

/** The stat of the real file, with the owner, group and mode the test says. */
function owned(path: string, uid: number, gid: number, mode?: number): Stats | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  return Object.assign(Object.create(st) as Stats, { uid, gid, mode: mode ?? st.mode });
}

/** Every file of the hub as if `svc` owned it (the test runs as root, which owns them really). */
function asService(over: Record<string, { uid: number; gid: number; mode?: number }> = {}) {
  return (p: string): Stats | undefined => {
    const o = over[p];
    if (o) return owned(p, o.uid, o.gid, o.mode);
    return p.startsWith(tmp.dir) ? owned(p, 4242, 4242) : statSync(p, { throwIfNoEntry: false });
  };
}

/** A hub in a temp directory: config, secrets 0600, data dir 0700, a serial and a BLE device. */
function hub(name: string, extra: string[] = []): { file: string; dir: string } {
  const dir = join(tmp.dir, name);
  mkdirSync(join(dir, "data"), { recursive: true, mode: 0o700 });
  chmodSync(join(dir, "data"), 0o700);
  writeFileSync(join(dir, "client-secret"), "s", { mode: 0o600 });
  writeFileSync(join(dir, "hl7-password"), "s", { mode: 0o600 });
  writeFileSync(join(dir, "tty"), "", { mode: 0o660 });
  const file = join(dir, "config.yaml");
  writeFileSync(
    file,
    [
      `hub: { id: h1, dataDir: ${join(dir, "data")} }`,
      "patients:",
      "  - { key: p1, route: pkb-rest, nhsNumber: '9434765919' }",
      "  - { key: p2, route: hl7, nhsNumber: '9434765870', firstName: A, lastName: B, dob: '1950-01-31', sex: F }",
      "devices:",
      `  - { id: meter, driver: contour-serial, patient: p1, serialPath: ${join(dir, "tty")}, expectedIntervalHours: 24 }`,
      "  - { id: bp, driver: ble-blood-pressure, patient: p2, bleAddress: '00:11:22:33:44:55' }",
      "routes:",
      `  pkbRest: { baseUrl: 'https://pkb.example', clientId: c, clientSecretFile: ${join(dir, "client-secret")} }`,
      `  hl7: { url: 'https://pkb.example/hl7', username: u, passwordFile: ${join(dir, "hl7-password")}, sendingFacility: X }`,
      "monitor: { mqtt: { url: 'mqtts://broker.example:8883' } }",
      ...extra,
    ].join("\n"),
    { mode: 0o600 },
  );
  return { file, dir };
}

/** Everything fine; each test breaks one thing. */
function probes(over: Partial<DoctorProbes> = {}): DoctorProbes {
  return {
    nowMs: () => NOW,
    clockSynced: async () => true,
    diskFree: () => 8 * 1024 ** 3,
    stat: asService(),
    listDataDir: () => [],
    bluetooth: () => ({ adapters: ["hci0"], blocked: [], capabilities: true }),
    broker: async () => ({ ok: true, status: 0 }),
    http: async () => ({ ok: true, status: 200 }),
    links: () =>
      new Map([
        ["p1", { state: "linked" }],
        ["p2", { state: "hl7-known" }],
      ]),
    lastReadings: () =>
      new Map([
        ["meter", NOW - 3_600_000],
        ["bp", NOW - 60_000],
      ]),
    agentPid: () => 1234,
    groupName: (gid) => (gid === 20 ? "dialout" : undefined),
    account: () => SERVICE,
    ...over,
  };
}

function byId(results: CheckResult[], id: string): CheckResult | undefined {
  return results.find((r) => r.id === id);
}

function io(): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} };
}

describe("pkb-hub doctor", () => {
  it("a healthy hub: every check ok except the HL7 egress reminder, exit 0", async () => {
    const { file } = hub("healthy");
    const out = io();
    expect(await reportDoctor(file, false, out, probes())).toBe(0);
    const results = await doctorResults(file, probes());
    expect(results.filter((r) => r.status !== "ok").map((r) => `${r.id}:${r.status}`)).toEqual([
      "hl7-egress:info",
    ]);
    expect(out.lines.at(-1)).toBe("healthy");
  });

  it("an unsynchronised clock fails with the fix", async () => {
    const { file } = hub("clock");
    const results = await doctorResults(file, probes({ clockSynced: async () => false }));
    expect(byId(results, "clock")).toEqual({
      id: "clock",
      status: "fail",
      summary: "the clock is not synchronised: new readings are held until it is",
      fix: "check network time: timedatectl set-ntp true; timedatectl timesync-status (UDP 123 must be allowed out)",
    });
    const never = await doctorResults(file, probes({ nowMs: () => Date.UTC(1970, 0, 1, 0, 5) }));
    expect(byId(never, "clock")?.summary).toBe(
      "the clock says 1970-01-01T00:05:00.000Z: it has never been set (readings are held)",
    );
  });

  it("low disk space fails below 100 MiB and warns below the buffer cap", async () => {
    const { file, dir } = hub("disk");
    const low = await doctorResults(file, probes({ diskFree: () => 50 * 1024 * 1024 }));
    expect(byId(low, "disk")).toMatchObject({
      status: "fail",
      summary: `only 50 MiB free at ${join(dir, "data")}: readings will soon be refused`,
    });
    const under = await doctorResults(file, probes({ diskFree: () => 300 * 1024 * 1024 }));
    expect(byId(under, "disk")).toMatchObject({
      status: "warn",
      summary: `300 MiB free at ${join(dir, "data")}, less than the buffer may grow to (buffer.maxSize 512 MiB)`,
    });
  });

  it("a data dir others can open, one root owns, and root-owned files in it fail with the chmod/chown", async () => {
    const { file, dir } = hub("datadir");
    const data = join(dir, "data");
    const open = await doctorResults(
      file,
      probes({ stat: asService({ [data]: { uid: 4242, gid: 4242, mode: 0o40755 } }) }),
    );
    expect(byId(open, "data-dir")).toMatchObject({ status: "fail", fix: `chmod 700 ${data}` });
    const rootDir = await doctorResults(file, probes({ stat: asService({ [data]: { uid: 0, gid: 0 } }) }));
    expect(byId(rootDir, "data-dir")).toEqual({
      id: "data-dir",
      status: "fail",
      summary: `${data} cannot be written by the service account svc (owner uid 0, mode 700)`,
      fix: `chown -R svc: ${data} && chmod 700 ${data}`,
    });
    // What `pkb-hub link` run as root used to leave: a key and a link the service cannot read.
    mkdirSync(join(data, "links"));
    writeFileSync(join(data, "secret.key"), "k", { mode: 0o600 });
    writeFileSync(join(data, "links", "p1.link"), "l", { mode: 0o600 });
    const rootFiles = asService({
      [join(data, "secret.key")]: { uid: 0, gid: 0 },
      [join(data, "links", "p1.link")]: { uid: 0, gid: 0 },
    });
    const results = await doctorResults(file, probes({ stat: rootFiles, listDataDir: listTree }));
    expect(byId(results, "data-dir")).toEqual({
      id: "data-dir",
      status: "fail",
      summary: `2 file(s) in ${data} cannot be used by the service account svc (links/p1.link, secret.key): probably written by root`,
      fix: `chown -R svc: ${data}`,
    });
  });

  it("missing and exposed secret files fail, each naming the field and the fix", async () => {
    const { file, dir } = hub("secrets");
    chmodSync(join(dir, "client-secret"), 0o640);
    const results = await doctorResults(file, probes());
    expect(byId(results, "secret:routes.pkbRest.clientSecretFile")).toEqual({
      id: "secret:routes.pkbRest.clientSecretFile",
      status: "fail",
      summary: `routes.pkbRest.clientSecretFile: ${join(dir, "client-secret")} holds the PKB OAuth client secret and other users can read it (mode 640)`,
      fix: `chmod 600 ${join(dir, "client-secret")} (and have the secret changed if others may have read it)`,
    });
    const { file: f2, dir: d2 } = hub("secrets2");
    rmSync(join(d2, "hl7-password"));
    const missing = await doctorResults(f2, probes());
    expect(byId(missing, "secret:routes.hl7.passwordFile")?.summary).toBe(
      `routes.hl7.passwordFile: ${join(d2, "hl7-password")} does not exist`,
    );
  });

  it("a serial port the service account cannot open fails with the group to join; an unplugged one warns", async () => {
    const { file, dir } = hub("serial");
    const tty = join(dir, "tty");
    const results = await doctorResults(
      file,
      probes({ stat: asService({ [tty]: { uid: 0, gid: 20, mode: 0o20660 } }) }),
    );
    expect(byId(results, "serial:meter")).toEqual({
      id: "serial:meter",
      status: "fail",
      summary: `meter: the service account svc cannot open ${tty} (group dialout, mode 660)`,
      fix: "usermod -aG dialout svc, then restart the service",
    });
    const member = await doctorResults(
      file,
      probes({
        stat: asService({ [tty]: { uid: 0, gid: 20, mode: 0o20660 } }),
        account: () => ({ ...SERVICE, groups: [4242, 20] }),
      }),
    );
    expect(byId(member, "serial:meter")?.status).toBe("ok");
    const gone = await doctorResults(file, probes({ stat: (p) => (p === tty ? undefined : asService()(p)) }));
    expect(byId(gone, "serial:meter")).toMatchObject({
      status: "warn",
      summary: `meter: ${tty} is not there (unplugged, or another cable/port)`,
    });
  });

  it("a secret file root wrote 0600 fails: the service account cannot read it", async () => {
    const { file, dir } = hub("rootsecret");
    const secret = join(dir, "client-secret");
    const results = await doctorResults(file, probes({ stat: asService({ [secret]: { uid: 0, gid: 0 } }) }));
    expect(byId(results, "secret:routes.pkbRest.clientSecretFile")).toEqual({
      id: "secret:routes.pkbRest.clientSecretFile",
      status: "fail",
      summary: `routes.pkbRest.clientSecretFile: ${secret} cannot be read by the service account svc (owner uid 0, mode 600)`,
      fix: `chown svc ${secret}`,
    });
  });

  it("Bluetooth: no adapter, rfkill and missing capabilities each fail with their fix", async () => {
    const { file } = hub("bt");
    const none = await doctorResults(
      file,
      probes({ bluetooth: () => ({ adapters: [], blocked: [], capabilities: true }) }),
    );
    expect(byId(none, "bluetooth")).toMatchObject({
      status: "fail",
      summary: "no Bluetooth adapter, and 1 Bluetooth device(s) are configured",
    });
    const blocked = await doctorResults(
      file,
      probes({ bluetooth: () => ({ adapters: ["hci0"], blocked: ["hci0"], capabilities: true }) }),
    );
    expect(byId(blocked, "bluetooth")).toMatchObject({ status: "fail", fix: "rfkill unblock bluetooth" });
    const caps = await doctorResults(
      file,
      probes({ bluetooth: () => ({ adapters: ["hci0"], blocked: [], capabilities: false }) }),
    );
    expect(byId(caps, "bluetooth")?.summary).toBe(
      "the installed unit does not grant CAP_NET_RAW and CAP_NET_ADMIN, which Bluetooth LE needs",
    );
  });

  it("an untrusted broker certificate and an unreachable PKB fail with different fixes", async () => {
    const { file } = hub("net");
    const results = await doctorResults(
      file,
      probes({
        broker: async () => ({
          ok: false,
          reason: "SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate",
          tls: true,
        }),
        http: async (url) =>
          url.endsWith("/hl7")
            ? { ok: true, status: 405 }
            : { ok: false, reason: "ENOTFOUND: getaddrinfo", tls: false },
      }),
    );
    expect(byId(results, "broker")).toEqual({
      id: "broker",
      status: "fail",
      summary:
        "the MQTT broker at mqtts://broker.example:8883 cannot be reached: SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate",
      fix: "the broker's certificate is not trusted: set monitor.mqtt.caFile to its CA, or fix the broker's certificate",
    });
    expect(byId(results, "pkb-rest")).toMatchObject({
      status: "fail",
      fix: "check the hub's network (ping, DNS), the URL and port, and that the firewall lets the hub out",
    });
    expect(byId(results, "hl7")?.status).toBe("ok");
  });

  it("an unlinked REST patient fails with the link command; a silent device warns", async () => {
    const { file } = hub("links");
    const results = await doctorResults(
      file,
      probes({
        links: () => new Map([["p1", { state: "unlinked" }]]),
        lastReadings: () => new Map([["meter", NOW - 30 * 3_600_000]]),
      }),
    );
    expect(byId(results, "link:p1")).toEqual({
      id: "link:p1",
      status: "fail",
      summary: "p1: not linked to PKB yet: readings wait",
      fix: `pkb-hub link p1 --config ${file}`,
    });
    expect(byId(results, "device:meter")).toMatchObject({
      status: "warn",
      summary: "meter: last reading 30.0 h ago, expected every 24 h",
    });
    expect(byId(results, "device:bp")).toMatchObject({ status: "warn", summary: "bp: no reading yet" });
  });

  it("an invalid config is one failed check listing every problem; --json prints JSON; exit 1", async () => {
    const file = join(tmp.dir, "broken.yaml");
    writeFileSync(file, "hub: { id: 'x y' }\ndevices: [{ id: d, driver: nope }]\n");
    const out = io();
    expect(await reportDoctor(file, true, out, probes())).toBe(1);
    const report = JSON.parse(out.lines.join("\n"));
    expect(report.healthy).toBe(false);
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0].summary).toContain("3 problems");
    expect(report.checks[0].summary).toContain("devices[0]: device is bound to no patient");
  });

  it("everything broken at once: every check that fails or warns says its fix, printed under it; exit 1", async () => {
    const { file, dir } = hub("everything");
    const broken = probes({
      clockSynced: async () => false,
      diskFree: () => 10 * 1024 * 1024,
      stat: asService({
        [join(dir, "data")]: { uid: 0, gid: 0 },
        [join(dir, "client-secret")]: { uid: 0, gid: 0 },
        [join(dir, "tty")]: { uid: 0, gid: 20, mode: 0o20660 },
      }),
      bluetooth: () => ({ adapters: [], blocked: [], capabilities: undefined }),
      broker: async () => ({ ok: false, reason: "ECONNREFUSED", tls: false }),
      http: async () => ({ ok: false, reason: "certificate has expired", tls: true }),
      links: () => new Map([["p1", { state: "relink-needed", why: "refresh refused" }]]),
      lastReadings: () => new Map(),
      agentPid: () => undefined,
    });
    const unreadable = probes({
      diskFree: () => null,
      stat: (p) => (p === file ? undefined : asService()(p)),
    });
    const results = [...(await doctorResults(file, broken)), ...(await doctorResults(file, unreadable))];
    const notOk = results.filter((r) => r.status === "fail" || r.status === "warn");
    expect(notOk.map((r) => r.id).sort()).toEqual(
      [
        "agent",
        "bluetooth",
        "broker",
        "clock",
        "config",
        "data-dir",
        "device:bp",
        "device:meter",
        "disk",
        "disk",
        "hl7",
        "link:p1",
        "pkb-rest",
        `secret:routes.pkbRest.clientSecretFile`,
        "serial:meter",
      ].sort(),
    );
    expect(notOk.filter((r) => !r.fix).map((r) => r.id)).toEqual([]);
    const out = io();
    expect(await reportDoctor(file, false, out, broken)).toBe(1);
    for (const r of results.filter((x) => x.status === "fail" && x.id !== "config")) {
      const at = out.lines.findIndex((l) => l.startsWith("FAIL") && l.includes(r.summary));
      expect(at, r.id).toBeGreaterThanOrEqual(0);
      expect(out.lines[at + 1]?.trim()).toBe(`fix: ${r.fix}`);
    }
    expect(out.lines.at(-1)).toMatch(/^NOT healthy: \d+ check\(s\) failed, \d+ warning\(s\)$/);
  });
});
