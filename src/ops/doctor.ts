import { existsSync, lstatSync, readdirSync, type Stats } from "node:fs";
import { join, resolve } from "node:path";
import { driverById } from "../../drivers/index.js";
import type { Config } from "../config/schema.js";
import { EARLIEST_PLAUSIBLE_MS } from "../core/clock.js";
import { dataDirFindings, referencedFileFindings } from "./files.js";
import type { BluetoothInfo, Reach } from "./probes.js";
import { type Account, permits } from "./users.js";

/** ok: fine; warn: works, but look; fail: the hub is not healthy; info: a reminder. */
export type CheckStatus = "ok" | "warn" | "fail" | "info";

export interface CheckResult {
  /** Stable id: clock, disk, data-dir, secret:<field>, serial:<device>, bluetooth, broker, pkb-rest, hl7, hl7-egress, link:<patient>, device:<id>, agent. */
  id: string;
  status: CheckStatus;
  summary: string;
  fix?: string;
}

/** Everything doctor asks of the machine: each one replaceable, so a test can fake every failure. */
export interface DoctorProbes {
  nowMs(): number;
  clockSynced(): Promise<boolean>;
  diskFree(dir: string): number | null;
  stat(path: string): Stats | undefined;
  /** Files under the data directory (relative paths), to find ones the service cannot use. */
  listDataDir(dir: string): string[];
  bluetooth(): BluetoothInfo;
  broker(config: Config): Promise<Reach>;
  http(url: string, caFile?: string): Promise<Reach>;
  /** Link state per patient key (see hub-state.linkStates). */
  links(config: Config): Map<string, { state: string; why?: string }>;
  /** When each device last had a reading stored; undefined when there is no buffer yet. */
  lastReadings(config: Config): Map<string, number> | undefined;
  agentPid(dataDir: string): number | undefined;
  groupName(gid: number): string | undefined;
  /** The account the service runs as (see users.serviceAccount). */
  account(hub: Config["hub"]): Account;
}

const MiB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(0)} MiB`;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} days`;
}

function nearestExisting(dir: string, stat: DoctorProbes["stat"]): string {
  let p = resolve(dir);
  while (!stat(p) && p !== "/") p = resolve(p, "..");
  return p;
}

export async function checkClock(p: DoctorProbes): Promise<CheckResult> {
  const now = p.nowMs();
  if (now < EARLIEST_PLAUSIBLE_MS)
    return {
      id: "clock",
      status: "fail",
      summary: `the clock says ${new Date(now).toISOString()}: it has never been set (readings are held)`,
      fix: "connect the hub to a network with NTP and check: timedatectl timesync-status",
    };
  if (!(await p.clockSynced()))
    return {
      id: "clock",
      status: "fail",
      summary: "the clock is not synchronised: new readings are held until it is",
      fix: "check network time: timedatectl set-ntp true; timedatectl timesync-status (UDP 123 must be allowed out)",
    };
  return { id: "clock", status: "ok", summary: `synchronised (${new Date(now).toISOString()})` };
}

export function checkDisk(config: Config, p: DoctorProbes): CheckResult {
  const at = nearestExisting(config.hub.dataDir, p.stat);
  const free = p.diskFree(at);
  if (free === null)
    return {
      id: "disk",
      status: "warn",
      summary: `free space at ${at} cannot be read`,
      fix: `check that the file system holding ${at} is mounted and healthy: df -h ${at}; dmesg | tail`,
    };
  const fix = `free space on the file system of ${at} (old logs: journalctl --vacuum-size=50M) or move hub.dataDir to a larger disk`;
  if (free < 100 * MiB)
    return {
      id: "disk",
      status: "fail",
      summary: `only ${mib(free)} free at ${at}: readings will soon be refused`,
      fix,
    };
  if (free < config.buffer.maxSize)
    return {
      id: "disk",
      status: "warn",
      summary: `${mib(free)} free at ${at}, less than the buffer may grow to (buffer.maxSize ${mib(config.buffer.maxSize)})`,
      fix: `${fix}, or lower buffer.maxSize`,
    };
  return { id: "disk", status: "ok", summary: `${mib(free)} free at ${at}` };
}

/** The data directory, and every file in it the service account could not use (left by root). */
export function checkDataDir(config: Config, service: Account, p: DoctorProbes): CheckResult {
  const findings = dataDirFindings(config.hub.dataDir, service, p.stat);
  const first = findings[0];
  if (first)
    return { id: "data-dir", status: "fail", summary: `${first.file} ${first.problem}`, fix: first.fix };
  const dir = resolve(config.hub.dataDir);
  if (!p.stat(dir)) return { id: "data-dir", status: "ok", summary: `${dir} will be created by the agent` };
  const foreign = p.listDataDir(dir).filter((rel) => {
    const st = p.stat(join(dir, rel));
    return st !== undefined && (!permits(service, st, "r") || (st.isFile() && !permits(service, st, "w")));
  });
  if (foreign.length > 0)
    return {
      id: "data-dir",
      status: "fail",
      summary: `${foreign.length} file(s) in ${dir} cannot be used by the service account ${service.name} (${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", …" : ""}): probably written by root`,
      fix: `chown -R ${service.name}: ${dir}`,
    };
  return { id: "data-dir", status: "ok", summary: `${dir} belongs to ${service.name}, mode 700` };
}

export function checkSecrets(config: Config, service: Account, p: DoctorProbes): CheckResult[] {
  return referencedFileFindings(config, service, p.stat).map((f) => ({
    id: `secret:${f.field}`,
    status: "fail",
    summary: `${f.field}: ${f.file} ${f.problem}`,
    fix: f.fix,
  }));
}

export function checkConfigFile(
  file: string,
  config: Config,
  service: Account,
  p: DoctorProbes,
): CheckResult {
  const st = p.stat(file);
  if (!st)
    return {
      id: "config",
      status: "fail",
      summary: `${file} is gone`,
      fix: `put the configuration back (pkb-hub provision --config ${file} writes a new one)`,
    };
  const holdsPhi = config.patients.some((x) => x.nhsNumber || x.firstName || x.lastName || x.dob);
  if (holdsPhi && (st.mode & 0o077) !== 0)
    return {
      id: "config",
      status: "fail",
      summary: `${file} holds patient demographics and other users can read it (mode ${(st.mode & 0o777).toString(8)})`,
      fix: `chmod 600 ${file}`,
    };
  if (!permits(service, st, "r"))
    return {
      id: "config",
      status: "fail",
      summary: `${file} cannot be read by the service account ${service.name}`,
      fix: `chown ${service.name} ${file}`,
    };
  return {
    id: "config",
    status: "ok",
    summary: `${file} is valid (${config.patients.length} patient(s), ${config.devices.length} device(s))`,
  };
}

export function checkSerial(config: Config, service: Account, p: DoctorProbes): CheckResult[] {
  const out: CheckResult[] = [];
  for (const d of config.devices) {
    if (d.simulate || driverById(d.driver).matcher.transport !== "serial") continue;
    const id = `serial:${d.id}`;
    if (d.serialPath === undefined) {
      out.push({
        id,
        status: "info",
        summary: `${d.id}: no serialPath, found by its USB id when plugged in`,
      });
      continue;
    }
    const st = p.stat(d.serialPath);
    if (!st) {
      out.push({
        id,
        status: "warn",
        summary: `${d.id}: ${d.serialPath} is not there (unplugged, or another cable/port)`,
        fix: "plug the device in; pkb-hub devices scan lists the ports and their stable paths",
      });
      continue;
    }
    if (!permits(service, st, "r") || !permits(service, st, "w")) {
      const group = p.groupName(st.gid) ?? String(st.gid);
      out.push({
        id,
        status: "fail",
        summary: `${d.id}: the service account ${service.name} cannot open ${d.serialPath} (group ${group}, mode ${(st.mode & 0o777).toString(8)})`,
        fix: `usermod -aG ${group} ${service.name}, then restart the service`,
      });
      continue;
    }
    out.push({ id, status: "ok", summary: `${d.id}: ${d.serialPath} can be opened by ${service.name}` });
  }
  return out;
}

export function checkBluetooth(config: Config, p: DoctorProbes): CheckResult | undefined {
  const ble = config.devices.filter((d) => !d.simulate && driverById(d.driver).matcher.transport === "ble");
  if (ble.length === 0) return undefined;
  const bt = p.bluetooth();
  if (bt.adapters.length === 0)
    return {
      id: "bluetooth",
      status: "fail",
      summary: `no Bluetooth adapter, and ${ble.length} Bluetooth device(s) are configured`,
      fix: "check the adapter (lsusb, dmesg | grep -i bluetooth); on a Pi: dtoverlay is not disable-bt",
    };
  if (bt.blocked.length > 0)
    return {
      id: "bluetooth",
      status: "fail",
      summary: `Bluetooth is switched off by rfkill (${bt.blocked.join(", ")})`,
      fix: "rfkill unblock bluetooth",
    };
  if (bt.capabilities === false)
    return {
      id: "bluetooth",
      status: "fail",
      summary: "the installed unit does not grant CAP_NET_RAW and CAP_NET_ADMIN, which Bluetooth LE needs",
      fix: "reinstall the unit from the release (scripts/install.sh) or remove a drop-in that drops them",
    };
  return {
    id: "bluetooth",
    status: bt.capabilities === undefined ? "warn" : "ok",
    summary: `adapter ${bt.adapters.join(", ")}${bt.capabilities === undefined ? "; no pkb-hub.service installed, so the service's capabilities cannot be checked" : ", capabilities granted by the unit"}`,
    ...(bt.capabilities === undefined ? { fix: "install the service with scripts/install.sh" } : {}),
  };
}

function reachResult(id: string, what: string, url: string, r: Reach, fixTls: string): CheckResult {
  if (r.ok) return { id, status: "ok", summary: `${what} answers at ${url} (TLS verified where used)` };
  return {
    id,
    status: "fail",
    summary: `${what} at ${url} cannot be reached: ${r.reason}`,
    fix: r.tls
      ? fixTls
      : "check the hub's network (ping, DNS), the URL and port, and that the firewall lets the hub out",
  };
}

export async function checkNetwork(config: Config, p: DoctorProbes): Promise<CheckResult[]> {
  const out: Array<Promise<CheckResult>> = [];
  const mqtt = config.monitor.mqtt;
  if (mqtt)
    out.push(
      p
        .broker(config)
        .then((r) =>
          reachResult(
            "broker",
            "the MQTT broker",
            mqtt.url,
            r,
            "the broker's certificate is not trusted: set monitor.mqtt.caFile to its CA, or fix the broker's certificate",
          ),
        ),
    );
  const rest = config.routes.pkbRest;
  if (rest)
    out.push(
      p
        .http(rest.baseUrl)
        .then((r) =>
          reachResult(
            "pkb-rest",
            "PKB",
            rest.baseUrl,
            r,
            "PKB's certificate is not trusted: check the hub's clock and CA certificates (ca-certificates)",
          ),
        ),
    );
  const hl7 = config.routes.hl7;
  if (hl7)
    out.push(
      p
        .http(hl7.url, hl7.caFile)
        .then((r) =>
          reachResult(
            "hl7",
            "PKB's HL7 endpoint",
            hl7.url,
            r,
            "the HL7 endpoint's certificate is not trusted: set routes.hl7.caFile or check the hub's clock",
          ),
        ),
    );
  const results = await Promise.all(out);
  if (hl7)
    results.push({
      id: "hl7-egress",
      status: "info",
      summary:
        "PKB accepts HL7 only from addresses registered with it: this hub must leave through a fixed public address (a phone hotspot or 4G address changes)",
      fix: "give PKB the fixed egress address of the site or VPN the hub uses",
    });
  return results;
}

export function checkLinks(config: Config, file: string, p: DoctorProbes): CheckResult[] {
  const links = p.links(config);
  return config.patients.map((pt): CheckResult => {
    const l = links.get(pt.key) ?? { state: "unknown" };
    const id = `link:${pt.key}`;
    if (pt.route === "hl7") return { id, status: "ok", summary: `${pt.key}: hl7 route (${l.state})` };
    if (l.state === "linked") return { id, status: "ok", summary: `${pt.key}: linked to PKB` };
    return {
      id,
      status: "fail",
      summary: `${pt.key}: ${l.state === "unlinked" ? "not linked to PKB yet" : `link unusable${l.why ? ` (${l.why})` : ""}`}: readings wait`,
      fix: `pkb-hub link ${pt.key} --config ${file}`,
    };
  });
}

export function checkDevicesSeen(config: Config, p: DoctorProbes): CheckResult[] {
  const seen = p.lastReadings(config);
  if (!seen) return [{ id: "devices", status: "info", summary: "no buffer yet: the agent has not run" }];
  const now = p.nowMs();
  return config.devices.map((d): CheckResult => {
    const id = `device:${d.id}`;
    const last = seen.get(d.id);
    const expectedMs =
      d.expectedIntervalHours === undefined ? undefined : d.expectedIntervalHours * 3_600_000;
    if (last === undefined)
      return {
        id,
        status: "warn",
        summary: `${d.id}: no reading yet`,
        fix: "take a measurement near the hub; if none arrives, check pairing and the agent log",
      };
    const age = now - last;
    if (expectedMs !== undefined && age > expectedMs)
      return {
        id,
        status: "warn",
        summary: `${d.id}: last reading ${ago(age)} ago, expected every ${d.expectedIntervalHours} h`,
        fix: "check the device's power, pairing and range, and ask whether the patient still uses it",
      };
    return { id, status: "ok", summary: `${d.id}: last reading ${ago(age)} ago` };
  });
}

export function checkAgent(config: Config, p: DoctorProbes): CheckResult {
  const pid = p.agentPid(config.hub.dataDir);
  return pid === undefined
    ? {
        id: "agent",
        status: "warn",
        summary: "no agent is running on this data directory",
        fix: "systemctl start pkb-hub (journalctl -u pkb-hub says why it stopped)",
      }
    : { id: "agent", status: "ok", summary: `the agent runs (pid ${pid})` };
}

/** Every check, in the order a technician works through them. */
export async function runChecks(
  file: string,
  config: Config,
  service: Account,
  p: DoctorProbes,
): Promise<CheckResult[]> {
  const [clock, network] = await Promise.all([
    config.clock.mode === "assume-synced"
      ? Promise.resolve<CheckResult>({
          id: "clock",
          status: "warn",
          summary:
            "clock.mode is assume-synced: the clock is trusted unchecked (for development machines only)",
          fix: "set clock.mode: auto on a hub",
        })
      : checkClock(p),
    checkNetwork(config, p),
  ]);
  const bluetooth = checkBluetooth(config, p);
  return [
    checkConfigFile(file, config, service, p),
    ...checkSecrets(config, service, p),
    checkDataDir(config, service, p),
    checkDisk(config, p),
    clock,
    ...checkSerial(config, service, p),
    ...(bluetooth ? [bluetooth] : []),
    ...network,
    ...checkLinks(config, file, p),
    ...checkDevicesSeen(config, p),
    checkAgent(config, p),
  ];
}

export function isHealthy(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== "fail");
}

/**
 * Relative paths of the regular files and directories under `dir` (symbolic links — the simulator's
 * pty ends — sockets and the like are not the hub's files and are left out), for the ownership checks.
 */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, rel));
    } catch {
      return;
    }
    for (const n of names) {
      const r = rel ? join(rel, n) : n;
      const st = lstatSync(join(dir, r), { throwIfNoEntry: false });
      if (st?.isFile()) out.push(r);
      else if (st?.isDirectory()) {
        out.push(r);
        walk(r);
      }
    }
  };
  if (existsSync(dir)) walk("");
  return out;
}
