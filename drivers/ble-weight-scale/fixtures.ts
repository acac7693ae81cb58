import type { Fixture } from "../fixture-types.js";

export const fixtures: Fixture[] = [
  // SI: 14000 × 0.005 kg = 70 kg
  { name: "SI 70 kg", hex: "00 b036", expect: { values: { "body-weight": 70 } } },
  {
    // imperial with time, user 2, BMI 24.5 (245) and height 70.0 in (700)
    name: "imperial with time, user and BMI",
    hex: "0f 483c ea070b18063000 02 f500 bc02",
    expect: {
      values: { "body-weight": 154.32 },
      deviceTime: "2026-11-24T06:48:00",
      userSlot: 2,
      meta: { bmi: 24.5, heightIn: 70 },
    },
  },
  { name: "measurement unsuccessful", hex: "00 ffff", expect: { none: true } },
  { name: "truncated weight", hex: "00 b0", expect: { error: "FRAME_SHORT" } },
];
