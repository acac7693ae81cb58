import { describe, expect, it } from "vitest";
import { runKill } from "../../scripts/chaos/kill.js";

// The short version of `npm run chaos -- kill`: the built agent (dist/, as `npm test` builds it)
// SIGKILLed twice, then left to finish, per route.
describe("chaos kill (short)", () => {
  it("REST: every record the meter produced is in the record exactly once after the agent is killed twice", async () => {
    const r = await runKill({ route: "rest", rounds: 2, perRound: 10 });
    expect({ produced: r.produced, lost: r.lost, duplicates: r.duplicates }).toEqual({
      produced: 20,
      lost: 0,
      duplicates: 0,
    });
    expect(r.delivered).toBe(20);
  }, 90_000);

  it("HL7: every record the meter produced is live in the record exactly once after the agent is killed twice", async () => {
    const r = await runKill({ route: "hl7", rounds: 2, perRound: 10 });
    expect({ produced: r.produced, lost: r.lost, duplicates: r.duplicates }).toEqual({
      produced: 20,
      lost: 0,
      duplicates: 0,
    });
    expect(r.delivered).toBe(20);
  }, 90_000);
});
