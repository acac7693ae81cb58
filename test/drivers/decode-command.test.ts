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

/** `decode --json`, parsed. */
async function decodeJson(...args: string[]) {
  const r = await decode(...args, "--json");
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Array<Record<string, unknown> & { sent: Record<string, unknown> }>;
}

describe("pkb-hub decode: what the device sent", () => {
  it("prints the sequence number, the device time as sent and the value in the device's own unit", async () => {
    // flags 0B = offset, concentration (kg/L), status | seq 5 | 2026-11-24 07:00:00 | +30 min
    // | 0.006 kg/L (0xC03C) | capillary whole blood, finger | status 0x0020: result above the meter's range
    const [r] = await decodeJson(
      "--driver",
      "ble-glucose",
      "--hex",
      "0b 0500 ea070b18070000 1e00 3cc0 11 2000",
    );
    expect(r?.sent).toEqual({
      seq: 5,
      deviceTime: "2026-11-24T07:00:00",
      timeOffsetMinutes: 30,
      values: [{ id: "glucose", unit: "kg/L", value: 0.006 }],
    });
    expect(r?.components).toEqual([{ code: "2339-0", id: "glucose", value: 600, unit: "mg/dL" }]);
    expect(r?.measuredAt).toBe("2026-11-24T07:30:00.000+00:00");
    expect(r?.flags).toEqual(["above-measuring-range:glucose"]);
    expect(r?.quarantined).toBe(false);
    expect(r?.quarantine).toBeUndefined();
  });

  it("kPa as sent beside the mmHg it becomes; the user slot; the pulse per minute", async () => {
    // flags 1F | 16.0 / 10.7 / 12.4 kPa | 2026-11-24 08:30:00 | pulse 72 | user 2 | irregular pulse
    const [r] = await decodeJson(
      "--driver",
      "ble-blood-pressure",
      "--hex",
      "1f a0f0 6bf0 7cf0 ea070b18081e00 4800 02 0400",
    );
    expect(r?.sent).toEqual({
      deviceTime: "2026-11-24T08:30:00",
      userSlot: 2,
      values: [
        { id: "bp-systolic", unit: "kPa", value: 16 },
        { id: "bp-diastolic", unit: "kPa", value: 10.7 },
        { id: "bp-mean", unit: "kPa", value: 12.4 },
        { id: "pulse-rate", unit: "/min", value: 72 },
      ],
    });
    expect(((r?.components ?? []) as Array<{ unit: string }>).map((c) => c.unit)).toEqual([
      "mm[Hg]",
      "mm[Hg]",
      "mm[Hg]",
      "/min",
    ]);
  });

  it("a time the hub does not use is still shown as the device sent it", async () => {
    // PLX spot-check, flags 11: time stamp 2000-01-01 00:00:00 with "device clock not set"
    const [r] = await decodeJson(
      "--driver",
      "ble-pulse-oximeter",
      "--characteristic",
      "2a5e",
      "--hex",
      "11 6000 4b00 d0070101000000",
    );
    expect(r?.sent.deviceTime).toBe("2000-01-01T00:00:00");
    expect(r?.timeSource).toBe("hub");
  });

  it("a special value the device sent is listed though it is no component", async () => {
    // MAP 0x07FF NaN
    const [r] = await decodeJson("--driver", "ble-blood-pressure", "--hex", "00 7800 5000 ff07");
    expect(r?.sent.values).toEqual([
      { id: "bp-systolic", unit: "mm[Hg]", value: 120 },
      { id: "bp-diastolic", unit: "mm[Hg]", value: 80 },
      { id: "bp-mean", unit: "mm[Hg]", special: "nan" },
    ]);
  });

  it("a Contour record: the record text, its time and value as sent", async () => {
    const [r] = await decodeJson(
      "--driver",
      "contour-serial",
      "--hex",
      "0231527c387c5e5e5e476c75636f73657c3133337c6d672f644c5e507c7c422f587c7c3230313230323035323033340d0341440d0a",
    );
    expect(r?.sent).toEqual({
      deviceTime: "2012-02-05T20:34:00",
      values: [{ id: "glucose", unit: "mg/dL", value: 133 }],
      record: "R|8|^^^Glucose|133|mg/dL^P||B/X||201202052034",
    });
  });

  it("the human output shows what was sent and writes a HI value as >600, never as exact", async () => {
    const r = await decode("--driver", "ble-glucose", "--hex", "0b 0500 ea070b18070000 1e00 3cc0 11 2000");
    expect(r.out.split("\n")).toEqual([
      "glucose at 2026-11-24T07:30:00.000+00:00 (device)",
      "  glucose >600 mg/dL (above the device's measuring range: not an exact value)  [LOINC 2339-0]",
      "  flags: above-measuring-range:glucose",
      "  sent by the device: glucose 0.006 kg/L; sequence 5; time 2026-11-24T07:00:00 + 30 min",
    ]);
    const lo = await decode("--driver", "ble-glucose", "--hex", "0a 0100 ea070b18070000 02c0 11 4000");
    expect(lo.out).toContain("  glucose <20 mg/dL (below the device's measuring range: not an exact value)");
    const back = await decode("--driver", "ble-glucose", "--hex", "0b 0500 ea070b18070000 e2ff 3cc0 11 0000");
    expect(back.out).toContain("time 2026-11-24T07:00:00 - 30 min");
  });

  it("says when a reading is quarantined, in JSON and in words", async () => {
    // thermometer 99.8 °C (FLOAT 0xFF0003E6): physically impossible body temperature
    const [j] = await decodeJson("--driver", "ble-thermometer", "--hex", "00 e6 03 00 ff");
    expect(j?.quarantined).toBe(true);
    expect(j?.quarantine).toMatch(/^physically impossible: body-temperature/);
    const r = await decode("--driver", "ble-thermometer", "--hex", "00 e6 03 00 ff");
    expect(r.out).toMatch(
      /\n {2}QUARANTINED \(stored, never forwarded\): physically impossible: body-temperature/,
    );
  });

  it("a frame with no reading says so", async () => {
    const r = await decode("--driver", "ble-weight-scale", "--hex", "00 ffff");
    expect(r).toEqual({
      code: 0,
      out: "no reading in this frame (e.g. control solution, special values, sensor off)",
      err: "",
    });
  });
});
