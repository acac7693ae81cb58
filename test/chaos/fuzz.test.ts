import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandTargets } from "../../scripts/chaos/fuzz-commands.js";
import { Crash, expectCoded, fuzzTargets, runTarget } from "../../scripts/chaos/fuzz-targets.js";
import { HubError } from "../../src/core/errors.js";

// The short version of `npm run chaos -- fuzz`: every target, a few hundred cases each.
describe("fuzz (short)", () => {
  for (const target of fuzzTargets(commandTargets())) {
    it(`${target.name}: nothing but coded errors`, () => {
      const r = runTarget(target, 300);
      expect(r.crash === undefined ? "no crash" : `${r.crash} on ${r.counterexample}`).toBe("no crash");
      expect(r.cases).toBe(300);
    });
  }

  it("counts an uncoded throw as a crash and a coded one as none (the harness itself)", () => {
    expect(() =>
      expectCoded("x", () => {
        throw new HubError("FRAME_SHORT", "short");
      }),
    ).not.toThrow();
    expect(() =>
      expectCoded("x", () => {
        throw new TypeError("boom");
      }),
    ).toThrow(Crash);
    const r = runTarget(
      {
        name: "t",
        property: fc.property(fc.nat(), (n) =>
          expectCoded("t", () => {
            if (n > 5) throw new RangeError("big");
          }),
        ),
      },
      200,
      1,
    );
    expect(r.crash).toBe("t threw an uncoded RangeError: big");
    expect(r.counterexample).toBe("[6]");
  });
});
