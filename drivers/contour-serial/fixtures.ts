import type { Fixture } from "../fixture-types.js";

export const fixtures: Fixture[] = [
  {
    // STX "1" R|8|^^^Glucose|133|mg/dL^P||B/X||201202052034 CR ETX "AD" CR LF (DEVICES.md example)
    name: "mg/dL record, before food",
    hex: "0231527c387c5e5e5e476c75636f73657c3133337c6d672f644c5e507c7c422f587c7c3230313230323035323033340d0341440d0a",
    expect: {
      values: { glucose: 133 },
      deviceTime: "2012-02-05T20:34:00",
      meta: { calibration: "plasma", marker: "before-meal", recordNumber: 8 },
    },
  },
  {
    name: "mmol/L record",
    hex: "0232527c397c5e5e5e476c75636f73657c372e397c6d6d6f6c2f4c5e507c7c427c7c3230313230323036303731350d0342310d0a",
    expect: { values: { glucose: 7.9 }, deviceTime: "2012-02-06T07:15:00" },
  },
  {
    // STX "3" R|3|^^^Glucose|600|mg/dL^P||>||201202061920 CR ETX "22" CR LF: the meter showed HI
    name: "HI: the meter's limit, flagged above its measuring range",
    hex: "0233527c337c5e5e5e476c75636f73657c3630307c6d672f644c5e507c7c3e7c7c3230313230323036313932300d0332320d0a",
    expect: {
      values: { glucose: 600 },
      flags: ["above-measuring-range:glucose"],
      deviceTime: "2012-02-06T19:20:00",
      meta: { calibration: "plasma" },
    },
  },
  {
    // STX "4" R|4|^^^Glucose|20|mg/dL^B||<||201202061925 CR ETX "E5" CR LF: LO, whole-blood reference
    name: "LO, whole blood",
    hex: "0234527c347c5e5e5e476c75636f73657c32307c6d672f644c5e427c7c3c7c7c3230313230323036313932350d0345350d0a",
    expect: {
      values: { glucose: 20 },
      flags: ["below-measuring-range:glucose"],
      deviceTime: "2012-02-06T19:25:00",
      meta: { calibration: "whole-blood" },
    },
  },
  {
    name: "insulin record is not glucose",
    hex: "0233527c31307c5e5e5e496e73756c696e7c347c555e7c7c7c7c3230313230323036303731360d0331340d0a",
    expect: { none: true },
  },
  {
    name: "checksum mismatch",
    hex: "0231527c387c5e5e5e476c75636f73657c3133337c6d672f644c5e507c7c422f587c7c3230313230323035323033340d0341450d0a",
    expect: { error: "FRAME_CHECKSUM" },
  },
  { name: "truncated frame", hex: "0231527c38", expect: { error: "FRAME_SHORT" } },
];
