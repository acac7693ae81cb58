import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBuffer } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import { FakeClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { bpReading } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const tmp = tempDir();
const configFile = join(tmp.dir, "config.yaml");
const cli = (...args: string[]) => spawnSync("node", [CLI, ...args], { encoding: "utf8" });

beforeAll(async () => {
  const raw = {
    hub: { id: "h1", dataDir: join(tmp.dir, "data") },
    patients: [{ key: "p1", route: "pkb-rest" }],
    routes: { pkbRest: { baseUrl: "https://pkb.invalid", clientId: "c", clientSecretFile: "/nonexistent" } },
  };
  writeFileSync(configFile, JSON.stringify(raw), { mode: 0o600 });
  const clock = new FakeClock(Date.now());
  const buffer = openBuffer(parseConfig(raw), clock, silentLogger());
  await buffer.ingest([bpReading(clock), bpReading(clock), bpReading(clock), bpReading(clock)]);
  await buffer.ingest([{ ...bpReading(clock), quarantine: "bp-systolic outside 0..400 mm[Hg]" }]);
  const lease = buffer.outbox.claim("pkb-rest", 3);
  buffer.outbox.complete(lease.token, [lease.rows[0]?.id as number], { kind: "delivered" });
  buffer.outbox.complete(lease.token, [lease.rows[1]?.id as number], {
    kind: "rejected",
    reason: PKB_TEXT,
  });
  buffer.outbox.complete(lease.token, [lease.rows[2]?.id as number], {
    kind: "ambiguous",
    reason: "HTTP 200 with an HTML page",
  });
  buffer.close();
});
afterAll(() => tmp.cleanup());

/** A rejection text as PKB may send it: it quotes the patient. */
const PKB_TEXT = "HTTP 400: patient Jane Example (NHS 9434765919) unknown measurement type";

describe("pkb-hub outbox", () => {
  it("list shows counts by state, oldest unsent age and the rows waiting for a person, without their reasons", () => {
    const r = cli("outbox", "list", "--config", configFile);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("held=0 pending=1 leased=0 ambiguous=1 quarantined=1 delivered=1 dead=1");
    expect(r.stdout).toMatch(/#3 route=pkb-rest patient=p1 attempts=1\n/);
    expect(r.stdout).toMatch(/#5 route=pkb-rest patient=p1 attempts=0\n/);
    expect(r.stdout).toMatch(/#2 route=pkb-rest patient=p1 attempts=1\n/);
    expect(r.stdout).toContain("ALERT AMBIGUOUS_DELIVERY: 1 delivery has an unknown outcome");
    expect(r.stdout).toMatch(/oldest unsent: \d+s/);
    expect(r.stdout).toContain(
      "reasons hidden: they may quote PKB's answer (PHI); add --show-reasons to see them",
    );
    for (const text of ["Jane", "9434765919", "HTML page", "reason:"])
      expect(r.stdout + r.stderr).not.toContain(text);
    const json = cli("outbox", "list", "--config", configFile, "--json").stdout;
    expect(json).not.toContain("9434765919");
    expect(JSON.parse(json).deadLetterRows[0]).not.toHaveProperty("reason");
  });

  it("list --show-reasons shows each row's reason, as stored", () => {
    const r = cli("outbox", "list", "--config", configFile, "--show-reasons");
    expect(r.stdout).toContain(`#2 route=pkb-rest patient=p1 attempts=1 reason: ${PKB_TEXT}`);
    expect(r.stdout).toMatch(/#3 route=pkb-rest patient=p1 attempts=1 reason: HTTP 200 with an HTML page/);
    expect(r.stdout).toMatch(/#5 route=pkb-rest patient=p1 attempts=0 reason: bp-systolic outside/);
    expect(r.stdout).not.toContain("reasons hidden");
    const json = JSON.parse(cli("outbox", "list", "--config", configFile, "--json", "--show-reasons").stdout);
    expect(json.byState).toEqual({
      held: 0,
      pending: 1,
      leased: 0,
      ambiguous: 1,
      quarantined: 1,
      delivered: 1,
      dead: 1,
    });
    expect(json.ambiguousRows.map((r: { id: number }) => r.id)).toEqual([3]);
    expect(json.deadLetterRows[0].reason).toBe(PKB_TEXT);
  });

  it("retry re-queues a dead letter and validates its arguments", () => {
    expect(cli("outbox", "retry", "--config", configFile).status).toBe(2);
    expect(cli("outbox", "retry", "--config", configFile, "--id", "abc").stderr).toContain(
      "--id must be a positive integer",
    );
    const notDead = cli("outbox", "retry", "--config", configFile, "--id", "3");
    expect(notDead.status).toBe(1);
    expect(notDead.stderr).toContain("OUTBOX_STATE: outbox row 3 is ambiguous, not dead");
    const r = cli("outbox", "retry", "--config", configFile, "--id", "2");
    expect(r.stdout).toContain("re-queued 1 dead letter(s)");
    expect(cli("outbox", "list", "--config", configFile).stdout).toContain("pending=2");
  });

  it("resolve settles an ambiguous delivery, and refuses rows that are not ambiguous", () => {
    expect(cli("outbox", "resolve", "--config", configFile, "--id", "3", "--as", "maybe").status).toBe(2);
    const wrong = cli("outbox", "resolve", "--config", configFile, "--id", "1", "--as", "resend");
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("OUTBOX_STATE: outbox row 1 is delivered, not ambiguous");
    const r = cli("outbox", "resolve", "--config", configFile, "--id", "3", "--as", "delivered");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("#3 marked delivered");
    const list = cli("outbox", "list", "--config", configFile).stdout;
    expect(list).toContain("ambiguous=0");
    expect(list).not.toContain("AMBIGUOUS_DELIVERY");
  });

  it("a damaged buffer is refused, not moved aside or salvaged: that is the agent's, which may be running", () => {
    const dataDir = join(tmp.dir, "damaged");
    mkdirSync(dataDir, { mode: 0o700 });
    const damaged = Buffer.alloc(8192, 0x5a);
    writeFileSync(join(dataDir, "buffer.db"), damaged, { mode: 0o600 });
    const file = join(tmp.dir, "damaged.json");
    const raw = JSON.parse(readFileSync(configFile, "utf8"));
    writeFileSync(file, JSON.stringify({ ...raw, hub: { ...raw.hub, dataDir } }), { mode: 0o600 });
    for (const args of [["list"], ["retry", "--id", "1"]]) {
      const r = cli("outbox", ...args, "--config", file);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `BUFFER_CORRUPT: the buffer ${join(dataDir, "buffer.db")} failed its integrity check (SQLITE_NOTADB); this command does not repair it: the agent does when it starts`,
      );
      expect(readdirSync(dataDir)).toEqual(["buffer.db"]);
      expect(readFileSync(join(dataDir, "buffer.db")).equals(damaged)).toBe(true);
    }
  });
});
