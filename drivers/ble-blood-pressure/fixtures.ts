import type { Fixture } from "../fixture-types.js";

export const fixtures: Fixture[] = [
  {
    // flags 1E: mmHg, time, pulse, user, status | 120 / 80 / 93 | 2026-11-24 08:30:00 | pulse 72 | user 1 | irregular pulse
    name: "mmHg with every optional field",
    hex: "1e 7800 5000 5d00 ea070b18081e00 4800 01 0400",
    expect: {
      values: { "bp-systolic": 120, "bp-diastolic": 80, "bp-mean": 93, "pulse-rate": 72 },
      flags: ["irregular-pulse"],
      deviceTime: "2026-11-24T08:30:00",
      userSlot: 1,
    },
  },
  {
    // flags 01: kPa | 16.0 (F0A0) / 10.7 (F06B) / MAP NaN (07FF): the special value is dropped and flagged
    name: "kPa with a NaN mean arterial pressure",
    hex: "01 a0f0 6bf0 ff07",
    expect: { values: { "bp-systolic": 16, "bp-diastolic": 10.7 }, flags: ["special-value:bp-mean:nan"] },
  },
  {
    // DEVICES.md SFLOAT examples: 8C 00 = 140, F2 F5 = 152.2; user FF = unknown user (no slot)
    name: "SFLOAT examples, unknown user",
    hex: "08 8c00 f2f5 6400 ff",
    expect: { values: { "bp-systolic": 140, "bp-diastolic": 152.2, "bp-mean": 100 } },
  },
  { name: "every value NRes: no reading", hex: "00 0008 0008 0008", expect: { none: true } },
  { name: "truncated after systolic", hex: "00 7800", expect: { error: "FRAME_SHORT" } },
  { name: "time flag set but no time", hex: "02 7800 5000 5d00 ea07", expect: { error: "FRAME_SHORT" } },
  {
    // Intermediate Cuff Pressure 0x2A36: the live cuff pressure during inflation, never a reading
    name: "intermediate cuff pressure is refused",
    characteristic: "2a36",
    hex: "00 7800 ff07 ff07",
    expect: { error: "FRAME_UNSUPPORTED" },
  },
];
