import type { Fixture } from "../fixture-types.js";

export const fixtures: Fixture[] = [
  {
    // flags 06: Celsius, time, type | FLOAT 74 01 00 FF = 37.2 | 2026-11-24 07:05:09 | 6 = mouth
    name: "Celsius with time and site",
    hex: "06 740100ff ea070b18070509 06",
    expect: {
      values: { "body-temperature": 37.2 },
      deviceTime: "2026-11-24T07:05:09",
      meta: { site: "mouth" },
    },
  },
  { name: "Fahrenheit 98.6", hex: "01 da0300ff", expect: { values: { "body-temperature": 98.6 } } },
  { name: "FLOAT NaN is no reading", hex: "00 ffff7f00", expect: { none: true } },
  { name: "FLOAT +INFINITY is no reading", hex: "00 feff7f00", expect: { none: true } },
  { name: "truncated FLOAT", hex: "00 7401", expect: { error: "FRAME_SHORT" } },
];
