import { describe, expect, it } from "vitest";
import { endpointProblem, isLoopbackHost } from "../../src/config/url.js";

describe("endpoint URL rule", () => {
  it("allows https anywhere and http only to loopback", () => {
    expect(endpointProblem("https://sandbox.patientsknowbest.com:7443/services/hl7")).toBeUndefined();
    expect(endpointProblem("http://127.0.0.1:8080/hl7")).toBeUndefined();
    expect(endpointProblem("http://127.8.9.10/x")).toBeUndefined();
    expect(endpointProblem("http://localhost:1/")).toBeUndefined();
    expect(endpointProblem("http://[::1]:9/")).toBeUndefined();
    expect(endpointProblem("http://sandbox.patientsknowbest.com/")).toMatch(/cleartext http:\/\/ to sandbox/);
    expect(endpointProblem("http://10.0.0.1/")).toMatch(/only https/);
    expect(endpointProblem("http://0.0.0.0:8080/")).toMatch(/only https/);
    expect(endpointProblem("http://localhost.example.com/")).toMatch(/only https/);
    expect(endpointProblem("http://128.0.0.1/")).toMatch(/only https/);
  });

  it("refuses other schemes, credentials in the URL, and non-URLs", () => {
    expect(endpointProblem("file:///etc/passwd")).toMatch(/scheme file:/);
    expect(endpointProblem("javascript:alert(1)")).toMatch(/scheme javascript:/);
    expect(endpointProblem("ftp://pkb.example/")).toMatch(/scheme ftp:/);
    const withCreds = endpointProblem("https://user:hunter2@pkb.example/");
    expect(withCreds).toMatch(/credentials/);
    expect(withCreds).not.toContain("hunter2");
    expect(endpointProblem("not a url")).toBe("is not a valid URL");
  });

  it("knows loopback hosts exactly", () => {
    expect(
      ["localhost", "LOCALHOST", "127.0.0.1", "127.255.255.254", "::1", "[::1]"].map(isLoopbackHost),
    ).toEqual([true, true, true, true, true, true]);
    expect(
      ["0.0.0.0", "::", "10.0.0.1", "localhost.", "127.0.0.1.nip.io", "::ffff:127.0.0.1"].map(isLoopbackHost),
    ).toEqual([false, false, false, false, false, false]);
  });
});
