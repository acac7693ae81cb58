import type { Fixture } from "../fixture-types.js";

// Packets of 25 frames `01 status pleth data checksum`; frame 1 has SYNC (status bit 0).
// Frames 1-2 carry the 9-bit heart rate, frame 3 the SpO2.
const GREEN_72_97 =
  "01833200b601823348fe018234611801823500b801823600b901823700ba01823800bb01823900bc01823a00bd01823b00be01823c00bf01823d00c001823e00c101823f00c201824000c301824100c401824200c501824300c601824400c701824500c801824600c901824700ca01824800cb01824900cc01824a00cd";
const DISCONNECTED =
  "01c13200f401c033483c01c034615601c03500f601c03600f701c03700f801c03800f901c03900fa01c03a00fb01c03b00fc01c03c00fd01c03d00fe01c03e00ff01c03f000001c040000101c041000201c042000301c043000401c044000501c045000601c046000701c047000801c048000901c049000a01c04a000b";
const MISSING =
  "01833203b90182337f350182347f3601823500b801823600b901823700ba01823800bb01823900bc01823a00bd01823b00be01823c00bf01823d00c001823e00c101823f00c201824000c301824100c401824200c501824300c601824400c701824500c801824600c901824700ca01824800cb01824900cc01824a00cd";
const HR_300 =
  "01833202b80182332ce20182345f1601823500b801823600b901823700ba01823800bb01823900bc01823a00bd01823b00be01823c00bf01823d00c001823e00c101823f00c201824000c301824100c401824200c501824300c601824400c701824500c801824600c901824700ca01824800cb01824900cc01824a00cd";

export const fixtures: Fixture[] = [
  {
    name: "green perfusion, HR 72, SpO2 97",
    hex: GREEN_72_97,
    expect: { values: { spo2: 97, "pulse-rate": 72 }, meta: { perfusion: "green" } },
  },
  { name: "9-bit heart rate 300", hex: HR_300, expect: { values: { spo2: 95, "pulse-rate": 300 } } },
  { name: "sensor disconnected: no reading", hex: DISCONNECTED, expect: { none: true } },
  { name: "missing markers 511 / 127: no reading", hex: MISSING, expect: { none: true } },
  {
    name: "checksum error in frame 3",
    hex: `${GREEN_72_97.slice(0, 28)}00${GREEN_72_97.slice(30)}`,
    expect: { error: "FRAME_CHECKSUM" },
  },
  { name: "truncated packet", hex: GREEN_72_97.slice(0, 100), expect: { error: "FRAME_SHORT" } },
];
