import { spawn } from "node:child_process";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { captureProblems } from "./phi-check.js";
import { Capture, suiteBroker } from "./support.js";

const DEMO = join(import.meta.dirname, "../../dist/scripts/demo/main.js");
const suite = suiteBroker("pkb-mon-phi-");

/** What the demo patients are (both routes' stand-ins use the same fake person). */
const PHI = ["Demo", "Patient", "9434765919", "943 476 5919", "1950-01-31", "19500131", "pkb-demo-0001"];

function runDemo(route: "rest" | "hl7", dataDir: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    [
      DEMO,
      "--route",
      route,
      "--readings",
      "5",
      "--data-dir",
      dataDir,
      "--hub-id",
      `phi-${route}`,
      "--mqtt-url",
      suite.broker.url,
      // The demo gives up (and says what it saw) before the test would time out.
      "--timeout-sec",
      "80",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

/** Every component value the hub stored (canonical units), and the meter's own mg/dL values. */
function readingValues(dataDir: string): number[] {
  const db = new Database(join(dataDir, "buffer.db"), { readonly: true });
  try {
    const bodies = db.prepare("SELECT body FROM readings WHERE body IS NOT NULL").pluck().all() as string[];
    return bodies.flatMap((b) =>
      (JSON.parse(b) as { components: Array<{ value: number }> }).components.map((c) => c.value),
    );
  } finally {
    db.close();
  }
}

describe("no PHI on MQTT", () => {
  it("a full demo run on both routes publishes no name, NHS number, date of birth, reading value, token or PKB error text", async () => {
    const cap = await Capture.open(suite.broker.url, ["#"]);
    const [rest, hl7] = await Promise.all([
      runDemo("rest", join(suite.dir, "rest")),
      runDemo("hl7", join(suite.dir, "hl7")),
    ]);
    expect(rest.out.trim().split("\n").at(-1), rest.out).toBe(
      "DEMO route=rest produced=5 delivered=5 dead_letter=0",
    );
    expect(hl7.out.trim().split("\n").at(-1), hl7.out).toBe(
      "DEMO route=hl7 produced=5 delivered=5 dead_letter=0",
    );
    await new Promise((r) => setTimeout(r, 300));
    await cap.close();

    const values = [...readingValues(join(suite.dir, "rest")), ...readingValues(join(suite.dir, "hl7"))];
    const mgdl = [90, 127, 164, 201, 118]; // what the simulated meter sent, before conversion
    expect(values).toHaveLength(10);
    expect(cap.messages.length).toBeGreaterThan(8);
    // Every payload valid against its strict schema; no PHI, secret, server text, token, nor any
    // reading value in a string or (whole or not) in a number that is not a count.
    expect(captureProblems(cap.messages, { text: PHI, values: [...values, ...mgdl] })).toEqual([]);

    // During each run the fleet saw the hub online and its health; after it, the retained offline.
    for (const hub of ["phi-rest", "phi-hl7"]) {
      const live = cap
        .on(`pkb-hub/${hub}/state`)
        .filter((m) => !m.retain)
        .map((m) => JSON.parse(m.text).state);
      expect(live, hub).toEqual(["online", "offline"]);
      expect(cap.on(`pkb-hub/${hub}/health`).filter((m) => !m.retain).length, hub).toBeGreaterThanOrEqual(2);
    }
    const late = await Capture.open(suite.broker.url, ["pkb-hub/+/state"]);
    await late.waitFor(() => late.messages.length >= 2);
    expect(late.messages.map((m) => [m.topic, m.retain, JSON.parse(m.text).reason]).sort()).toEqual([
      ["pkb-hub/phi-hl7/state", true, "shutdown"],
      ["pkb-hub/phi-rest/state", true, "shutdown"],
    ]);
    await late.close();
  }, 110_000);
});
