import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";

/** Runs `pkb-hub decode …` in-process: exit code, stdout and stderr lines. */
async function decode(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(["decode", ...args], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: {},
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("pkb-hub decode: characteristics", () => {
  it("refuses intermediate cuff pressure 0x2A36 instead of decoding it as a blood pressure reading", async () => {
    const r = await decode(
      "--driver",
      "ble-blood-pressure",
      "--characteristic",
      "2A36",
      "--hex",
      "00 7800 ff07 ff07",
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain("FRAME_UNSUPPORTED");
    expect(r.out).toBe("");
  });

  it("refuses glucose context 0x2A34 instead of decoding it as a glucose", async () => {
    const r = await decode(
      "--driver",
      "ble-glucose",
      "--characteristic",
      "0x2a34",
      "--hex",
      "5f 0500 01 32d0 01 11 1e00 50 01 f4b0 32f0",
      "--json",
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain("FRAME_UNSUPPORTED");
    expect(r.out).toBe("");
  });

  it("takes the 16-bit UUID in any spelling, and the full 128-bit form", async () => {
    for (const ch of ["2a35", "2A35", "0x2A35", "00002a35-0000-1000-8000-00805f9b34fb"]) {
      const r = await decode(
        "--driver",
        "ble-blood-pressure",
        "--characteristic",
        ch,
        "--hex",
        "00 7800 5000 5d00",
      );
      expect(r.code, ch).toBe(0);
      expect(r.out, ch).toContain("bp-systolic 120 mm[Hg]");
    }
  });

  it("a single-characteristic driver needs none named; a multi-characteristic one must be told", async () => {
    expect((await decode("--driver", "ble-blood-pressure", "--hex", "00 7800 5000 5d00")).code).toBe(0);
    const r = await decode("--driver", "ble-pulse-oximeter", "--hex", "00 6100 4800");
    expect(r.code).toBe(2);
    expect(r.err).toContain("USAGE");
    expect(r.err).toContain("2a5e, 2a5f");
  });

  it.each([
    [["--driver", "ble-blood-pressure", "--characteristic", "2a3", "--hex", "00"]],
    [["--driver", "ble-blood-pressure", "--characteristic", "constructor", "--hex", "00"]],
    [["--driver", "contour-serial", "--characteristic", "2a35", "--hex", "05"]],
    [["--driver", "ble-blood-pressure", "--hex", "0"]],
    [["--driver", "ble-blood-pressure", "--hex", "zz"]],
    [["--driver", "ble-blood-pressure", "--hex", ""]],
    [["--driver", "ble-blood-pressure"]],
    [["--hex", "00"]],
    [["--driver", "ble-blood-pressure", "--hex", "00 7800 5000 5d00", "--time-zone", "Mars/Olympus"]],
    [["--driver", "ble-blood-pressure", "--hex", "00 7800 5000 5d00", "--bogus"]],
    [["--driver", "ble-blood-pressure", "--hex"]],
  ])("bad input %j is a coded USAGE error (exit 2), never a stack trace", async (args) => {
    const r = await decode(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^pkb-hub decode: USAGE: /);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
