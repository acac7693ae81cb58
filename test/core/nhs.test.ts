import { describe, expect, it } from "vitest";
import { isValidNhsNumber, normaliseNhsNumber } from "../../src/core/nhs.js";

describe("NHS number", () => {
  it("accepts valid Modulus 11 numbers", () => {
    for (const n of ["9434765919", "9434765870", "4010232137"]) expect(isValidNhsNumber(n)).toBe(true);
    expect(normaliseNhsNumber("943 476 5919")).toBe("9434765919");
  });

  it("rejects wrong check digits, check digit 10, wrong length and non-digits", () => {
    for (const n of ["9434765918", "1234567890", "943476591", "94347659190", "94347659a9", ""]) {
      expect(isValidNhsNumber(n)).toBe(false);
    }
    expect(() => normaliseNhsNumber("9434765918")).toThrow(
      expect.objectContaining({ code: "NHS_NUMBER_INVALID" }),
    );
  });
});
