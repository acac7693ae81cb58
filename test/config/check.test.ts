import { describe, expect, it } from "vitest";
import { DRIVER_IDS } from "../../drivers/index.js";
import { problems } from "./problems.js";

const BROKEN = [
  'hub: { id: "has space", timeZone: Mars/Olympus, dataDir: 5 }',
  'buffer: { maxAttempts: 0, typo: 1, maxSize: "lots" }',
  "patients:",
  '  - { key: a, route: hl7, nhsNumber: "9434765918" }',
  "  - { key: a, route: pkb-rest }",
  '  - { key: b, route: pkb-rest, nhsNumber: "943 476 5870" }',
  '  - { key: c, route: pkb-rest, nhsNumber: "9434765870" }',
  "devices:",
  "  - { id: d1, driver: x }",
  '  - { id: d2, driver: ble-blood-pressure, patient: nobody, serialPath: /dev/ttyUSB0, bleAddress: "zz" }',
  '  - { id: d2, driver: nonin-serial, patient: a, bleAddress: "00:11:22:33:44:55", options: { colour: red, packets: 5 } }',
  "  - { id: d3, driver: ble-thermometer, userSlots: { '1': ghost }, simulate: true }",
  '  - { id: d4, driver: nonin-serial, patient: b, options: { condenseWindowSec: -1, condenseMinSamples: "many" } }',
  "routes:",
  '  pkbRest: { baseUrl: "http://pkb.example.com", clientId: x, clientSecretFile: /nonexistent/secret }',
].join("\n");

describe("config check", () => {
  it("lists field and cross-field problems together in one pass, in file order", () => {
    expect(problems(BROKEN)).toEqual([
      "hub.id: hub id must be 1-64 letters, digits, '_', '.' or '-'",
      "hub.timeZone: unknown IANA time zone",
      "hub.dataDir: Invalid input: expected string, received number",
      "buffer.maxSize: must be a number of bytes or a number with a unit (B, KiB, MiB, GiB, KB, MB, GB), e.g. '512 MiB'",
      "buffer.maxAttempts: Too small: expected number to be >=1",
      "buffer: unknown key(s): typo",
      "patients[0].nhsNumber: NHS number must be 10 digits with a valid Modulus 11 check digit",
      "patients[0].firstName: required for the hl7 route",
      "patients[0].lastName: required for the hl7 route",
      "patients[0].dob: required for the hl7 route",
      "patients[0].sex: required for the hl7 route",
      "patients[0].route: routes.hl7 is not configured",
      "patients[1].key: duplicate patient key",
      "patients[3].nhsNumber: same NHS number as patients[2]: one person must have one patient entry",
      "devices[0]: device is bound to no patient (patient or userSlots)",
      `devices[0].driver: unknown driver; known: ${DRIVER_IDS.join(", ")}`,
      "devices[1].bleAddress: BLE address must be six pairs of hex digits joined by ':', e.g. 00:11:22:33:44:55",
      "devices[1].patient: unknown patient 'nobody'",
      "devices[1].serialPath: ble-blood-pressure is a Bluetooth driver: a serial path does not fit it (use bleAddress)",
      "devices[2].id: duplicate device id",
      "devices[2].bleAddress: nonin-serial is a serial (USB) driver: a BLE address does not fit it (use serialPath)",
      "devices[2].options.colour: is not an option of driver nonin-serial (it takes condenseWindowSec, condenseMinSamples)",
      "devices[2].options.packets: is a simulator option: it is only read with simulate: true",
      "devices[3].userSlots.1: unknown patient 'ghost'",
      "devices[3].simulate: there is no simulator for ble-thermometer (simulate: true works with contour-serial, nonin-serial)",
      "devices[4].options.condenseWindowSec: Too small: expected number to be >0",
      "devices[4].options.condenseMinSamples: Invalid input: expected number, received string",
      "routes.pkbRest.baseUrl: uses cleartext http:// to pkb.example.com: only https:// is allowed beyond loopback",
    ]);
  });
});
