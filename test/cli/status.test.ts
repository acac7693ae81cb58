import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { loadConfig } from "../../src/config/load.js";
import { alertHint } from "../../src/core/alert-hints.js";
import { FakeClock } from "../../src/core/clock.js";
import { BufferView } from "../../src/ops/buffer-view.js";
import { linkStates } from "../../src/ops/hub-state.js";
import { renderStatus, statusReport } from "../../src/ops/status-report.js";
import { bpReading, makeBuffer, sendOnce } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const HOUR = 3_600_000;

/** A hub whose meter sent 3 readings two hours ago: 2 delivered, 1 dead-lettered, its alert raised. */
async function seededHub(name: string) {
  const dataDir = join(tmp.dir, name, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(tmp.dir, name, "secret"), "s", { mode: 0o600 });
  const file = join(tmp.dir, name, "config.yaml");
  writeFileSync(
    file,
    [
      `hub: { id: h1, dataDir: ${dataDir}, timeZone: Europe/London }`,
      "patients: [{ key: p1, route: pkb-rest, nhsNumber: '9434765919' }]",
      "devices:",
      "  - { id: meter, driver: contour-serial, patient: p1, expectedIntervalHours: 24 }",
      "  - { id: bp, driver: ble-blood-pressure, patient: p1, expectedIntervalHours: 12 }",
      "  - { id: scale, driver: ble-weight-scale, patient: p1 }",
      `routes: { pkbRest: { baseUrl: 'https://pkb.example', clientId: c, clientSecretFile: ${join(tmp.dir, name, "secret")} } }`,
    ].join("\n"),
    { mode: 0o600 },
  );
  const clock = new FakeClock(NOW - 2 * HOUR);
  const { buffer } = makeBuffer(dataDir, { clock, routeOf: () => "pkb-rest" });
  await buffer.ingest([1, 2, 3].map((n) => bpReading(clock, n, "p1", "meter")));
  clock.advance(60_000);
  sendOnce(buffer, "pkb-rest", { kind: "delivered" });
  clock.advance(60_000);
  sendOnce(buffer, "pkb-rest", { kind: "delivered" });
  sendOnce(buffer, "pkb-rest", { kind: "rejected", reason: "PKB said no" });
  buffer.alerts.raise(
    "DEAD_LETTERS",
    "readings were dead-lettered and will not be sent without a person",
    clock.nowMs(),
  );
  buffer.close();
  return { file, dataDir };
}

describe("pkb-hub status", () => {
  it("shows devices with last reading and silence, links, buffer by state, last deliveries and alerts with fixes", async () => {
    const { file } = await seededHub("report");
    const config = loadConfig(file);
    const view = BufferView.open(config);
    const report = statusReport({
      config,
      nowMs: NOW,
      clockSynced: false,
      view,
      links: linkStates(config, (k) => view?.kvGet(k)),
      agentPid: undefined,
      diskFree: () => 5 * 1024 ** 3,
    });
    view?.close();
    expect(report.devices.map((d) => [d.id, d.lastReadingAt, d.expectedIntervalSec, d.silent])).toEqual([
      ["meter", new Date(NOW - 2 * HOUR).toISOString(), 86_400, false],
      ["bp", null, 43_200, true],
      ["scale", null, null, false],
    ]);
    expect(report.patients).toEqual([{ key: "p1", route: "pkb-rest", link: "unlinked" }]);
    expect(report.buffer.byState).toEqual({
      held: 0,
      pending: 0,
      leased: 0,
      ambiguous: 0,
      quarantined: 0,
      delivered: 2,
      dead: 1,
    });
    expect(report.lastDeliveries.map((d) => [d.route, d.patient, d.device, d.kind, d.deliveredAt])).toEqual([
      ["pkb-rest", "p1", "meter", "blood-pressure", new Date(NOW - 2 * HOUR + 120_000).toISOString()],
      ["pkb-rest", "p1", "meter", "blood-pressure", new Date(NOW - 2 * HOUR + 60_000).toISOString()],
    ]);
    expect(report.alerts).toEqual([
      {
        code: "DEAD_LETTERS",
        since: new Date(NOW - 2 * HOUR + 120_000).toISOString(),
        message: "readings were dead-lettered and will not be sent without a person",
        fix: alertHint("DEAD_LETTERS"),
      },
    ]);
    expect(report.clock).toEqual({ synced: false, timeZone: "Europe/London" });
    const text = renderStatus(report);
    expect(text).toContain("clock: NOT synchronised (new readings are held); time zone Europe/London");
    expect(text).toContain(`    fix: ${alertHint("DEAD_LETTERS")}`);
    expect(text.find((l) => l.startsWith("bp "))).toMatch(/never\s+every 12 h\s+SILENT$/);
    expect(text.find((l) => l.startsWith("meter "))).toMatch(/\(2\.0 h ago\)\s+every 24 h\s+no$/);
    expect(text).toContain(
      "buffer: held 0, pending 0, sending 0, ambiguous 0, quarantined 0, delivered 2, dead 1; oldest unsent none",
    );
  });

  it("--json prints the report; no PHI (NHS number, reading values, dead-letter reasons) in either form", async () => {
    const { file } = await seededHub("json");
    const lines: string[] = [];
    const code = await runCli(["status", "--config", file, "--json"], {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
      env: {},
    });
    expect(code).toBe(0);
    const report = JSON.parse(lines.join("\n"));
    expect(report.hub).toBe("h1");
    expect(report.buffer.byState.dead).toBe(1);
    const table: string[] = [];
    await runCli(["status", "--config", file], {
      out: (l) => table.push(l),
      err: (l) => table.push(l),
      env: {},
    });
    for (const text of [lines.join("\n"), table.join("\n")]) {
      expect(text).not.toContain("9434765919");
      expect(text).not.toContain("PKB said no");
      expect(text).not.toMatch(/\b12[0-9] mm/);
    }
  });

  it("a hub whose agent never ran: no buffer is created, everything reads as empty", async () => {
    const dataDir = join(tmp.dir, "fresh", "data");
    const file = join(tmp.dir, "fresh.yaml");
    writeFileSync(file, `hub: { id: h2, dataDir: ${dataDir} }\n`, { mode: 0o600 });
    const lines: string[] = [];
    expect(
      await runCli(["status", "--config", file], {
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
        env: {},
      }),
    ).toBe(0);
    expect(lines).toContain("buffer: none yet (the agent has not run)");
    expect(existsSync(dataDir)).toBe(false);
  });
});
