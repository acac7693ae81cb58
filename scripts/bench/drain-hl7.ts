import { readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import { soapEnvelope } from "../../src/forward/hl7/soap.js";
import { type Hl7Standin, startHl7Standin } from "../../test/standin/hl7/server.js";
import { ANN } from "../../test/support/pkb-patients.js";
import { pool } from "./common.js";
import { BENCH_PATIENT, type DrainSetup } from "./drain-setup.js";

const KNOWN = {
  nhsNumber: ANN.nhsNumber,
  firstName: ANN.firstName,
  lastName: ANN.lastName,
  dob: ANN.dob,
  sex: "F",
};
const AUTH = `Basic ${Buffer.from("partner:partner-password").toString("base64")}`;

function standin(dir: string, latencyMs: number): Promise<Hl7Standin> {
  return startHl7Standin({ knownPatients: [KNOWN], captureDir: dir }).then((s) => {
    s.setLatencyMs(latencyMs);
    return s;
  });
}

/** One SOAP POST as the agent's client sends it (keep-alive, Basic auth), answer read to the end. */
function post(url: URL, agent: Agent, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "text/xml; charset=utf-8",
          soapaction: '""',
          "content-length": body.length,
          authorization: AUTH,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * HL7: PKB's SOAP endpoint stand-in (HTTP on loopback), the patient already known to PKB. The agent's
 * messages are captured; the minimal client sends the same captured messages, in order, one at a
 * time (the route's per-patient order), to a fresh stand-in with the same latency.
 */
export async function hl7Drain(dir: string, latencyMs: number): Promise<DrainSetup> {
  const agentDir = join(dir, "captured-agent");
  let pkb = await standin(agentDir, latencyMs);
  const passwordFile = join(dir, "hl7-password");
  writeFileSync(passwordFile, "partner-password\n", { mode: 0o600 });
  const config = parseConfig({
    hub: { id: "bench-hub", timeZone: "Europe/London", dataDir: join(dir, "data") },
    clock: { mode: "assume-synced" },
    patients: [{ key: BENCH_PATIENT, route: "hl7", ...KNOWN }],
    routes: {
      hl7: {
        url: pkb.url,
        username: "partner",
        passwordFile,
        sendingFacility: "DEMOALIAS",
        processingId: "T",
      },
    },
  });
  return {
    route: "hl7",
    config,
    concurrency: 1,
    requests: () => pkb.requests(),
    async prepareIdeal() {
      const bodies = pkb
        .captured()
        .map((name) => Buffer.from(soapEnvelope(readFileSync(join(agentDir, name), "utf8"))));
      await pkb.stop();
      pkb = await standin(join(dir, "captured-ideal"), latencyMs);
      const url = new URL(pkb.url);
      const agent = new Agent({ keepAlive: true });
      return {
        requests: bodies.length,
        run: () =>
          pool(bodies.length, 1, (i) => post(url, agent, bodies[i] as Buffer)).finally(() => agent.destroy()),
      };
    },
    stop: () => pkb.stop(),
  };
}
