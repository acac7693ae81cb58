import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PkbStandin, startPkbStandin } from "../standin/pkb.js";
import { ANN } from "../support/pkb-patients.js";

let pkb: PkbStandin;
const auth = { authorization: "Bearer t-ann", "content-type": "application/json" };
const post = (body: unknown) =>
  fetch(`${pkb.url}/json/v1/measurements`, { method: "POST", headers: auth, body: JSON.stringify(body) });
const bp = {
  type: "BLOOD_PRESSURE",
  observedDate: "2026-11-24T08:00:00+00:00",
  values: [
    { name: "systolic", value: 120, unit: "mmHg" },
    { name: "diastolic", value: 80, unit: "mmHg" },
  ],
};

beforeEach(async () => {
  pkb = await startPkbStandin();
  pkb.api.addPatient(ANN, "t-ann");
});
afterEach(() => pkb.stop());

describe("PKB stand-in API", () => {
  it("Users API: PKB's shape, NHS number among the national ids", async () => {
    const self = await (await fetch(`${pkb.url}/json/users/self`, { headers: auth })).json();
    expect(self).toEqual({
      id: "pkb-ann",
      firstName: "Ann",
      lastName: "Example",
      dob: "1950-01-31",
      gender: "F",
      patient: true,
      nationalIds: [{ value: "9434765919", name: "NHS number", countryCodes: ["GB"] }],
    });
    expect((await fetch(`${pkb.url}/json/users/self`)).status).toBe(401);
  });

  it("measurement types and units at apiRefs; a valid body is stored and listed by type", async () => {
    const refs = (await (await fetch(`${pkb.url}/v2-beta/measurements/apiRefs`)).json()) as Record<
      string,
      unknown
    >;
    expect(Object.keys(refs)).toContain("BLOOD_GLUCOSE");
    expect((await post(bp)).status).toBe(201);
    const listed = await (
      await fetch(`${pkb.url}/json/v1/measurements/byType/BLOOD_PRESSURE`, { headers: auth })
    ).json();
    expect(listed).toEqual([bp]);
    expect(pkb.records("pkb-ann")).toEqual([bp]);
  });

  it.each([
    [{ ...bp, type: "MOOD" }, "unknown measurement type MOOD"],
    [{ ...bp, values: [{ name: "systolic", value: 16, unit: "kPa" }] }, "wrong unit kPa"],
    [{ ...bp, observedDate: undefined }, "observedDate is required"],
  ])("rejects an invalid body with 400 and a message (%#)", async (body, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain(message);
    expect(pkb.records("pkb-ann")).toEqual([]);
  });

  it("fault knobs: status with Retry-After, latency, then back to normal", async () => {
    pkb.setFaults({ kind: "status", status: 429, retryAfter: "3" });
    const limited = await post(bp);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    pkb.setLatencyMs(100);
    const t0 = Date.now();
    expect((await post(bp)).status).toBe(201);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it("inspection lists every patient's record, also over HTTP", async () => {
    expect((await post(bp)).status).toBe(201);
    expect(Object.keys(pkb.inspect())).toEqual(["pkb-ann"]);
    const res = await fetch(`${pkb.url}/standin/records`);
    expect(((await res.json()) as Record<string, unknown[]>)["pkb-ann"]).toHaveLength(1);
  });

  it("options: patients known from the start and added latency", async () => {
    const other = await startPkbStandin({ patients: [ANN], latencyMs: 80 });
    try {
      other.api.addToken("t2", ANN.id);
      const t0 = Date.now();
      const res = await fetch(`${other.url}/json/users/self`, { headers: { authorization: "Bearer t2" } });
      expect(res.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    } finally {
      await other.stop();
    }
  });
});
