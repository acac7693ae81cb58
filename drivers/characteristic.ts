import { HubError } from "../src/core/errors.js";
import type { DecodedDraft } from "./types.js";

type Decoder = (frame: Uint8Array) => DecodedDraft[];

/**
 * A BLE driver's decode: one decoder per characteristic it handles; any other characteristic (or
 * none) is refused with FRAME_UNSUPPORTED. Other characteristics of the same service carry other
 * things — intermediate cuff pressure 0x2A36 is a live pressure during inflation, glucose context
 * 0x2A34 has its own layout — and decoding them as a measurement invents a reading.
 */
export function byCharacteristic(
  what: string,
  decoders: Readonly<Record<string, Decoder>>,
): (frame: Uint8Array, characteristic?: string) => DecodedDraft[] {
  // A Map: "constructor" or "__proto__" is no decoder, and no characteristic (undefined) finds none.
  const table = new Map<string | undefined, Decoder>(Object.entries(decoders));
  return (frame, characteristic) => {
    const decode = table.get(characteristic);
    if (!decode) {
      throw new HubError(
        "FRAME_UNSUPPORTED",
        `${what}: characteristic ${characteristic ?? "(none)"} is not one this driver decodes (${[...table.keys()].join(", ")})`,
      );
    }
    return decode(frame);
  };
}
