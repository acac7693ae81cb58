import { describe, expect, it } from "vitest";
import { runFaults } from "../../scripts/chaos/faults.js";

/** Nothing lost, nothing twice, no dead letter PKB did not ask for; the rows of lost readings, shown when there are any, say why. */
function expectNoneLostOrDuplicated(r: Awaited<ReturnType<typeof runFaults>>): void {
  expect({ lost: r.lost_rows, duplicates: r.duplicates, dead_unexpected: r.dead_unexpected }).toEqual({
    lost: [],
    duplicates: 0,
    dead_unexpected: 0,
  });
  expect(r.lost).toBe(0);
}

// The short version of `npm run chaos -- faults`: a few dozen readings, a high fault rate, per route.
describe("chaos faults (short)", () => {
  it("REST: every reading in the record exactly once or a dead letter with PKB's refusal, under injected faults", async () => {
    // With the patient's revocation and the re-link a third of the way through: the rows that met
    // it go as soon as the link is usable again (not a minute later).
    const r = await runFaults({ route: "rest", readings: 40, rate: 0.3, seed: 13, timeoutMs: 40_000 });
    expect(r.injected).toBeGreaterThan(0);
    expectNoneLostOrDuplicated(r);
    expect(r.delivered + r.dead_letter).toBe(40);
  }, 60_000);

  it("HL7: every reading in the record exactly once (retracted copies aside) or a dead letter with PKB's AR/AE text, under injected faults", async () => {
    const r = await runFaults({ route: "hl7", readings: 40, rate: 0.3, seed: 13, timeoutMs: 40_000 });
    expect(r.injected).toBeGreaterThan(0);
    expectNoneLostOrDuplicated(r);
    // A reading out of the record is a dead letter, or held for a person with the route's reason
    // (PKB refused the retraction of a report that may be in the record).
    expect(r.delivered + r.dead_letter + r.held).toBe(40);
    expect((r.held_rows as Array<{ state: string; reason: string | null }>).filter((h) => !h.reason)).toEqual(
      [],
    );
  }, 60_000);
});
