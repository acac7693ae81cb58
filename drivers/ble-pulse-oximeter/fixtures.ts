import type { Fixture } from "../fixture-types.js";

export const fixtures: Fixture[] = [
  {
    name: "spot-check",
    characteristic: "2a5e",
    hex: "00 6100 4800",
    expect: { values: { spo2: 97, "pulse-rate": 72 } },
  },
  {
    name: "spot-check with time",
    characteristic: "2a5e",
    hex: "01 6000 4b00 ea070b180a0000",
    expect: { values: { spo2: 96, "pulse-rate": 75 }, deviceTime: "2026-11-24T10:00:00" },
  },
  {
    // flags 11: time present but "device clock not set": the time stamp is ignored
    name: "spot-check with an unset device clock",
    characteristic: "2a5e",
    hex: "11 6000 4b00 d0070101000000",
    expect: { values: { spo2: 96, "pulse-rate": 75 }, flags: ["device-clock-not-set"] },
  },
  {
    name: "continuous sample",
    characteristic: "2a5f",
    hex: "00 6200 4600",
    expect: { values: { spo2: 98, "pulse-rate": 70 } },
  },
  {
    name: "spot-check SpO2 NRes",
    characteristic: "2a5e",
    hex: "00 0008 4800",
    expect: { values: { "pulse-rate": 72 }, flags: ["special-value:spo2:nres"] },
  },
  {
    name: "unknown characteristic",
    characteristic: "2a5d",
    hex: "00",
    expect: { error: "FRAME_UNSUPPORTED" },
  },
  { name: "truncated spot-check", characteristic: "2a5e", hex: "00 61", expect: { error: "FRAME_SHORT" } },
];
