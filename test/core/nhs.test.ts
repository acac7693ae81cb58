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

describe("NHS number check digit, position by position", () => {
  it("a change of any single digit is caught", () => {
    const valid = "9434765919";
    for (let i = 0; i < 10; i++) {
      const d = Number(valid[i]);
      const changed = `${valid.slice(0, i)}${(d + 1) % 10}${valid.slice(i + 1)}`;
      expect(isValidNhsNumber(changed), changed).toBe(false);
    }
  });

  it("remainder 0 gives check digit 0; weights run 10 down to 2", () => {
    // 1·10 + 0·9 + … + 0·2 = 10 → 11 - 10 = 1; 0000000000 → sum 0 → 11 → 0.
    expect(isValidNhsNumber("0000000000")).toBe(true);
    expect(isValidNhsNumber("1000000001")).toBe(true);
    expect(isValidNhsNumber("0000000011")).toBe(false);
    // 0…0 1 in position 9 (weight 2): 11 - 2 = 9.
    expect(isValidNhsNumber("0000000019")).toBe(true);
    // 5 in position 1 (weight 10): 50 % 11 = 6 → 5.
    expect(isValidNhsNumber("5000000005")).toBe(true);
  });

  it("strips spaces and hyphens only", () => {
    expect(normaliseNhsNumber("943-476-5919")).toBe("9434765919");
    expect(normaliseNhsNumber(" 943 476 5919 ")).toBe("9434765919");
    expect(() => normaliseNhsNumber("943.476.5919")).toThrow(
      expect.objectContaining({
        code: "NHS_NUMBER_INVALID",
        message: "NHS number is not 10 digits with a valid Modulus 11 check digit",
      }),
    );
  });
});
