import type { Fixture } from "../fixture-types.js";

export const fixtures: Fixture[] = [
  { name: "uint8", hex: "06 48", expect: { values: { "heart-rate": 72 } } },
  {
    name: "uint16 with energy and RR intervals",
    hex: "19 4800 1000 0004 0004",
    expect: { values: { "heart-rate": 72 }, meta: { rrIntervals: 2 } },
  },
  { name: "sensor contact lost", hex: "04 48", expect: { none: true } },
  { name: "truncated uint16", hex: "01 48", expect: { error: "FRAME_SHORT" } },
];
