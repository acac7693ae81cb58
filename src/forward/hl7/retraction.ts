import { HubError } from "../../core/errors.js";

/**
 * The retraction of an ORU^R01 whose fate is unknown: the same message with OBR-25 (result
 * status) = `R` and no OBX, under a new MSH-10 and MSH-7. PKB (see retraction.md) marks every
 * measurement previously received under the report id in OBR-3.1 as deleted and ignores OBX; the
 * PID, OBR-3 and sending facility (MSH-4) are the original's bytes, so the retraction names
 * exactly the report, patient and organisation the first copy was filed under.
 */
export function buildRetraction(original: string, controlId: string, messageTime: string): string {
  const segments = original.split("\r").filter((s) => s !== "");
  const msh = segments[0]?.split("|");
  if (msh?.[0] !== "MSH" || msh.length < 12 || reportIdOf(original) === undefined)
    throw new HubError("INTERNAL", "a retraction is built only from an ORU^R01 with a report id");
  msh[6] = messageTime; // MSH-7 (MSH-1 is the separator itself, so field n is index n - 1)
  msh[9] = controlId; // MSH-10
  const out = [msh.join("|")];
  for (const s of segments.slice(1)) {
    if (s.startsWith("OBX|")) continue;
    if (!s.startsWith("OBR|")) {
      out.push(s);
      continue;
    }
    const obr = s.split("|");
    while (obr.length <= 25) obr.push("");
    obr[25] = "R"; // OBR-25 result status
    out.push(obr.join("|"));
  }
  return out.join("\r");
}

/** OBR-3.1 of one of the hub's own ORU^R01 (the report id), or undefined if it has none. */
export function reportIdOf(oru: string): string | undefined {
  const obr = oru.split("\r").find((s) => s.startsWith("OBR|"));
  const id = obr?.split("|")[3]?.split("^")[0];
  return id ? id : undefined;
}
