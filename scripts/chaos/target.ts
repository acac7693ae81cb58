import type Database from "better-sqlite3";
import type { Agent } from "../../src/agent/agent.js";
import type { Config, ConfigInput } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import type { Reading } from "../../src/core/reading.js";

export type ChaosRoute = "rest" | "hl7";

/** The two harness runs: kill (agent as a process, default timeouts) and faults (in process, short timeouts). */
export type ChaosRun = "kill" | "faults";

/**
 * One PKB route and its stand-in, as the chaos runs drive them: what the agent is configured
 * with, how a fault rate is set, and what the stand-in's record holds. The runs themselves
 * (kill.ts, faults.ts) know nothing of either route.
 */
export interface ChaosTarget {
  route: ChaosRoute;
  /** The one patient every reading belongs to, bound to this route. */
  patient: NonNullable<ConfigInput["patients"]>[number];
  routes: ConfigInput["routes"];
  /** Before the agent delivers anything (REST: a technician links the patient). */
  prepare(config: Config, dataDir: string, clock: Clock): Promise<void>;
  /** Faults at `rate` (0 stops them), drawn with `rand`. */
  setFaultRate(rate: number, rand?: () => number): void;
  /** Live copies of each reading in the stand-in's record, in the order given. */
  copies(readings: Reading[]): number[];
  /** Whether a dead letter's reason is one of the permanent rejections the stand-in injected. */
  expectedDeadReason(reason: string): boolean;
  /** Once, a third of the way through a faults run (REST: the patient revokes the hub, it is re-linked). */
  midway?(agent: Agent, config: Config, dataDir: string): Promise<void>;
  requests(): number;
  injected(): number;
  /** Faults injected, by kind (for the JSON report). */
  injectedByKind(): Record<string, number>;
  stop(): Promise<void>;
}

/** What a run found: every reading the device produced, against the record and the dead letters. */
export interface Tally {
  delivered: number;
  dead: number;
  /** Readings out of the record held for a person (state `ambiguous`, with the reason): not lost, not delivered. */
  held: number;
  lost: number;
  /** Readings the record holds more than one live copy of. */
  duplicates: number;
  /** Keys of the readings lost, and of those duplicated (to look them up in the buffer). */
  lostKeys: string[];
  duplicatedKeys: string[];
}

/** Keys of the readings a buffer holds as dead letters, and of those held for a person (`ambiguous`). */
export interface Attention {
  dead: ReadonlySet<string>;
  held: ReadonlySet<string>;
}

/**
 * `produced` readings were made; `readings` are those the buffer stored (a produced reading the
 * buffer never stored counts as lost), `copies` their live copies in the record. A reading is
 * delivered when the record has it; lost when it has no copy and is neither a dead letter nor
 * held for a person (the route's own verdict that only a person can tell, e.g. PKB refused the
 * retraction of a report that may be in the record).
 */
export function tally(produced: number, readings: Reading[], copies: number[], attention: Attention): Tally {
  const t: Tally = {
    delivered: 0,
    dead: 0,
    held: 0,
    lost: 0,
    duplicates: 0,
    lostKeys: [],
    duplicatedKeys: [],
  };
  readings.forEach((r, i) => {
    const n = copies[i] ?? 0;
    if (n > 0) t.delivered++;
    if (n > 1) {
      t.duplicates++;
      t.duplicatedKeys.push(r.key);
    }
    if (attention.dead.has(r.key)) t.dead++;
    else if (n === 0 && attention.held.has(r.key)) t.held++;
    else if (n === 0) t.lostKeys.push(r.key);
  });
  t.lost = t.lostKeys.length + Math.max(0, produced - readings.length);
  return t;
}

export function attention(db: Database.Database): Attention {
  const sql = "SELECT r.key FROM outbox o JOIN readings r ON r.id = o.reading_id WHERE o.state = ?";
  const keys = (state: string) => new Set(db.prepare(sql).pluck().all(state) as string[]);
  return { dead: keys("dead"), held: keys("ambiguous") };
}

/** The readings a buffer stored (bodies are kept until retention prunes them), in order. */
export function storedReadings(db: Database.Database): Reading[] {
  const bodies = db.prepare("SELECT body FROM readings WHERE body IS NOT NULL ORDER BY id").pluck().all();
  return (bodies as string[]).map((b) => JSON.parse(b) as Reading);
}

/** Each dead letter's reason, with whether the stand-in injected it. */
export function deadReasons(
  db: Database.Database,
  expected: (reason: string) => boolean,
): { reasons: string[]; unexpected: number } {
  const reasons = db
    .prepare("SELECT coalesce(reason, '') FROM outbox WHERE state = 'dead' ORDER BY id")
    .pluck()
    .all() as string[];
  return { reasons, unexpected: reasons.filter((r) => !expected(r)).length };
}
