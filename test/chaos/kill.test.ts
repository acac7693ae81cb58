import { describe, expect, it } from "vitest";
import { runKill } from "../../scripts/chaos/kill.js";

// The short version of `npm run chaos -- kill`: the built agent (dist/, as `npm test` builds it)
// SIGKILLed twice, then left to finish, per route (HL7: with its retraction, OBR-25 R).
describe("chaos kill (short)", () => {
  it.each(["rest", "hl7"] as const)(
    "%s: every record the meter produced is live in the record exactly once after the agent is killed twice",
    async (route) => {
      const r = await runKill({ route, rounds: 2, perRound: 10 });
      expect({
        produced: r.produced,
        delivered: r.delivered,
        lost: r.lost,
        duplicates: r.duplicates,
      }).toEqual({
        produced: 20,
        delivered: 20,
        lost: 0,
        duplicates: 0,
      });
    },
    90_000,
  );
});
