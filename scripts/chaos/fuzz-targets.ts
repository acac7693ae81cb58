import fc from "fast-check";
import { FIXTURES, hexBytes } from "../../drivers/fixtures.js";
import { DRIVERS } from "../../drivers/index.js";
import type { DriverDefinition } from "../../drivers/types.js";
import { parseConfigText } from "../../src/config/load.js";
import { FakeClock } from "../../src/core/clock.js";
import { isHubError } from "../../src/core/errors.js";
import { finishReading } from "../../src/core/finish.js";
import { parseAck } from "../../src/forward/hl7/ack.js";
import { extractHl7, soapFault } from "../../src/forward/hl7/soap.js";

/**
 * Fuzz targets for `npm run chaos -- fuzz` and its short version in the test suite. Each target feeds
 * generated input to one parser of untrusted bytes (device frames, PKB's answers, a technician's
 * config) and calls anything but a coded `HubError` a crash, as it is one: an uncoded throw in a
 * decoder or parser reaches a transport or a route as an unexpected error. A coded error is the
 * parser doing its job. Inputs are random bytes and mutations of the known-good vectors (flipped,
 * cut, extended), so the parsers are driven past their first check.
 */
export interface FuzzTarget {
  name: string;
  /** A property over generated input; returns a description of the crash, or undefined. */
  property: fc.IProperty<unknown>;
}

/** A failed check, with the input that caused it. */
export class Crash extends Error {}

/** Calls `fn`; a coded HubError is fine, anything else is a crash. */
export function expectCoded(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (isHubError(err)) return;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new Crash(`${what} threw an uncoded ${detail}`);
  }
}

/** A known-good vector changed a little: some bytes replaced, cut short, or extended. */
function mutated(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    fc
      .tuple(seed, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
      .map(([s, edits]) => {
        const out = Uint8Array.from(s);
        for (const [at, b] of edits) if (out.length > 0) out[at % out.length] = b;
        return out;
      }),
    fc.tuple(seed, fc.nat()).map(([s, n]) => s.slice(0, s.length === 0 ? 0 : n % s.length)),
    fc.tuple(seed, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([s, tail]) => {
      const out = new Uint8Array(s.length + tail.length);
      out.set(s);
      out.set(tail, s.length);
      return out;
    }),
  );
}

function seedsOf(driver: DriverDefinition): Uint8Array[] {
  return (FIXTURES[driver.id] ?? []).map((f) => hexBytes(f.hex));
}

const clock = new FakeClock(Date.UTC(2026, 10, 25, 12), true);

/** Decoding and finishing: what a transport does with a frame. */
function decodeAndFinish(driver: DriverDefinition, bytes: Uint8Array, characteristic?: string): void {
  for (const draft of driver.decode(bytes, characteristic)) {
    const reading = finishReading(draft, {
      deviceId: "fuzz",
      driver: driver.id,
      patient: "p1",
      timeZone: "Europe/London",
      clock,
      receivedAtMs: clock.nowMs(),
    });
    for (const c of reading.components) {
      if (!Number.isFinite(c.value)) throw new Crash(`${driver.id} produced a non-finite ${c.id}`);
    }
  }
}

function driverTargets(driver: DriverDefinition): FuzzTarget[] {
  const seeds = seedsOf(driver);
  const bytes =
    seeds.length > 0 ? fc.oneof(fc.uint8Array({ maxLength: 160 }), mutated(seeds)) : fc.uint8Array();
  const characteristic =
    driver.matcher.transport === "ble"
      ? fc.oneof(fc.constantFrom(...driver.matcher.characteristics), fc.constant(undefined), fc.string())
      : fc.constant(undefined);
  const targets: FuzzTarget[] = [
    {
      name: `decode:${driver.id}`,
      property: fc.property(bytes, characteristic, (b, ch) => {
        expectCoded(`${driver.id} decode`, () => decodeAndFinish(driver, b, ch));
      }),
    },
  ];
  const create = driver.createSession;
  if (create) {
    // A serial session is fed a stream in arbitrary chunks: it must never throw (a frame it refuses is
    // an event with a coded error), and every value it yields must be finite.
    const stream = fc.array(
      fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated(seeds.length ? seeds : [new Uint8Array()])),
      {
        maxLength: 12,
      },
    );
    targets.push({
      name: `session:${driver.id}`,
      property: fc.property(stream, (chunks) => {
        const session = create();
        for (const chunk of chunks) {
          let result: ReturnType<typeof session.push>;
          try {
            result = session.push(chunk);
          } catch (err) {
            throw new Crash(`${driver.id} session threw ${err instanceof Error ? err.message : String(err)}`);
          }
          for (const e of result.events) {
            for (const d of e.drafts) {
              for (const c of d.components) {
                if (!Number.isFinite(c.value))
                  throw new Crash(`${driver.id} session produced a non-finite ${c.id}`);
              }
            }
          }
        }
      }),
    });
  }
  return targets;
}

const GOOD_ACK = [
  "MSH|^~\\&|PKB|PKB|HUB|HUB|20261125120000||ACK^R01^ACK|A1|P|2.4\rMSA|AA|MSG0001\r",
  "MSH|^~\\&|PKB|PKB|HUB|HUB|20261125120000||ACK|A2|P|2.4\rMSA|AR|MSG0002|No observation timestamp in OBX or OBR\rERR|^^^207\r",
  "MSH|^~\\&|PKB|PKB|HUB|HUB|20261125120000||ADR^A19|A3|P|2.4\rMSA|AA|Q1\rQRD|20261125|R|I|Q1|||1^RD|9434765919^^^^^^^^^^^^NH|DEM\rPID|1||9434765919^^^NHS^NH||Doe^Jane||19500131|F\r",
];

/** Text near a valid answer: characters replaced, segments cut, delimiters swapped. */
function mutatedText(seeds: readonly string[]): fc.Arbitrary<string> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    fc
      .tuple(seed, fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 3 })), { maxLength: 4 }))
      .map(([s, edits]) => {
        let out = s;
        for (const [at, text] of edits) {
          const i = out.length === 0 ? 0 : at % out.length;
          out = out.slice(0, i) + text + out.slice(i + 1);
        }
        return out;
      }),
    fc.tuple(seed, fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))),
  );
}

const soapOf = (hl7: string) =>
  `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ns2:acceptMessageResponse xmlns:ns2="http://wsssl.hl7api.patientsknowbest.com/"><return><![CDATA[${hl7}]]></return></ns2:acceptMessageResponse></soap:Body></soap:Envelope>`;
const FAULT =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring></soap:Fault></soap:Body></soap:Envelope>';

function hl7Targets(): FuzzTarget[] {
  const ackText = fc.oneof(
    fc.string({ maxLength: 300 }),
    mutatedText(GOOD_ACK),
    fc.string({ unit: "binary", maxLength: 100 }),
  );
  const soapText = fc.oneof(fc.string({ maxLength: 300 }), mutatedText([...GOOD_ACK.map(soapOf), FAULT]));
  return [
    {
      name: "hl7:ack",
      property: fc.property(ackText, (text) => {
        expectCoded("parseAck", () => {
          parseAck(text);
        });
      }),
    },
    {
      name: "hl7:soap",
      property: fc.property(soapText, (xml) => {
        expectCoded("extractHl7", () => {
          const hl7 = extractHl7(xml);
          if (hl7 !== undefined) parseAck(hl7);
        });
        expectCoded("soapFault", () => {
          soapFault(xml);
        });
      }),
    },
  ];
}

const GOOD_CONFIG = `hub: { id: hub-1, timeZone: Europe/London, dataDir: /tmp/pkb-hub-fuzz }
patients:
  - { key: p1, route: pkb-rest, nhsNumber: "9434765919" }
  - { key: p2, route: hl7, nhsNumber: "9434765870", firstName: Ann, lastName: Example, dob: "1950-01-31", sex: F }
devices:
  - { id: bp, driver: ble-blood-pressure, bleAddress: "00:11:22:33:44:55", userSlots: { "1": p1, "2": p2 } }
  - { id: meter, driver: contour-serial, patient: p1, serialPath: /dev/ttyUSB0 }
routes:
  pkbRest: { baseUrl: "https://sandbox.example", clientId: c, clientSecretFile: /etc/pkb-hub/s }
  hl7: { url: "https://sandbox.example:7443/services/hl7", username: u, passwordFile: /etc/pkb-hub/p, sendingFacility: ALIAS }
`;

function configTargets(): FuzzTarget[] {
  const text = fc.oneof(fc.string({ maxLength: 200 }), mutatedText([GOOD_CONFIG]));
  const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));
  return [
    {
      name: "config:text",
      property: fc.property(fc.oneof(text, json), (t) => {
        expectCoded("parseConfigText", () => {
          parseConfigText(t, "fuzz.yaml");
        });
      }),
    },
  ];
}

/** Every target, in a fixed order. Extra targets (e.g. the MQTT command parser) join through `more`. */
export function fuzzTargets(more: FuzzTarget[] = []): FuzzTarget[] {
  return [...DRIVERS.flatMap(driverTargets), ...hl7Targets(), ...configTargets(), ...more];
}

export interface FuzzResult {
  name: string;
  cases: number;
  crash?: string;
  counterexample?: string;
}

/** Runs one target for `cases` inputs; a crash stops it and is reported with its (shrunk) input. */
export function runTarget(target: FuzzTarget, cases: number, seed?: number): FuzzResult {
  const details = fc.check(target.property, { numRuns: cases, ...(seed === undefined ? {} : { seed }) });
  if (!details.failed) return { name: target.name, cases: details.numRuns };
  const error = details.errorInstance;
  return {
    name: target.name,
    cases: details.numRuns,
    crash: error instanceof Error ? error.message : String(error),
    counterexample: JSON.stringify(details.counterexample, (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
    ),
  };
}
