import type { Fixture } from "../fixture-types.js";

export const fixtures: Fixture[] = [
  {
    // flags 03: time offset, concentration in kg/L | seq 5 | 2026-11-24 07:00:00 | +30 min
    // | 0.00095 kg/L (B05F: exponent -5, mantissa 95) = 95 mg/dL | capillary whole blood, finger
    name: "kg/L with a time offset",
    hex: "03 0500 ea070b18070000 1e00 5fb0 11",
    expect: {
      values: { glucose: 95 },
      seq: 5,
      deviceTime: "2026-11-24T07:30:00",
      meta: { sampleType: "capillary-whole-blood", sampleLocation: "finger" },
    },
  },
  {
    // flags 06: concentration in mol/L | seq 6 | 0.0055 mol/L (C037) = 5.5 mmol/L | capillary plasma, finger
    name: "mol/L",
    hex: "06 0600 ea070b18080000 37c0 12",
    expect: { values: { glucose: 5.5 }, seq: 6, deviceTime: "2026-11-24T08:00:00" },
  },
  {
    name: "control solution is not a patient reading",
    hex: "02 0700 ea070b18080000 5fb0 1a",
    expect: { none: true },
  },
  { name: "record without concentration", hex: "00 0800 ea070b18080000", expect: { none: true } },
  { name: "truncated base time", hex: "02 0900 ea07", expect: { error: "FRAME_SHORT" } },
  {
    // Glucose Measurement Context 0x2A34, another layout: flags 5F | seq 5 | carbohydrate id 1, 0.05 kg
    // | meal 1 | tester/health 0x11 | exercise 30 s at 80 % | medication id 1, SFLOAT | HbA1c 5.0 %.
    // Read as a measurement it would be a glucose value: never a reading.
    name: "glucose context is refused",
    characteristic: "2a34",
    hex: "5f 0500 | 01 32d0 | 01 | 11 | 1e00 50 | 01 f4b0 | 32f0",
    expect: { error: "FRAME_UNSUPPORTED" },
  },
];
