import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { createRoutes } from "../../src/agent/routes.js";
import type { Config } from "../../src/config/schema.js";
import { SoapClient } from "../../src/forward/hl7/soap.js";
import { configCheckExample } from "../support/cli.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

/** The config error's text for `patch`, or "" when the config is accepted. */
function refused(run: () => unknown): string {
  try {
    run();
    return "";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A raw TCP listener on loopback that records every byte it is sent. */
async function rawListener(): Promise<{ port: number; bytes: () => string; close: () => Promise<void> }> {
  let seen = "";
  const server: Server = createServer((s) => {
    s.on("data", (d) => {
      seen += d.toString("latin1");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { port, bytes: () => seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe("routes.hl7 configuration refuses what PKB would refuse", () => {
  it("routes.hl7.url: https anywhere, http only to loopback, no other scheme, no credentials in it", () => {
    const { h } = t;
    for (const url of [
      "https://sandbox.patientsknowbest.com:7443/services/hl7",
      "http://127.0.0.1:8080/hl7",
      "http://localhost:8080/hl7",
      "http://[::1]:8080/hl7",
    ])
      expect(
        refused(() => h.config({ url })),
        url,
      ).toBe("");
    const cases: Array<[string, string]> = [
      [
        "http://sandbox.patientsknowbest.com:7443/services/hl7",
        "uses cleartext http:// to sandbox.patientsknowbest.com",
      ],
      ["http://0.0.0.0:8080/hl7", "uses cleartext http:// to 0.0.0.0"],
      ["http://[::ffff:127.0.0.1]:8080/hl7", "uses cleartext http:// to [::ffff:7f00:1]"],
      ["http://10.0.0.5/hl7", "uses cleartext http:// to 10.0.0.5"],
      ["file:///etc/passwd", "uses the scheme file: "],
      ["javascript:alert(1)", "uses the scheme javascript: "],
      ["ftp://pkb.example/hl7", "uses the scheme ftp: "],
      ["https://partner:hunter2@pkb.example/hl7", "must not carry credentials in the URL"],
      ["not a url", "is not a valid URL"],
    ];
    for (const [url, why] of cases) {
      const text = refused(() => h.config({ url }));
      expect(text, url).toContain(`routes.hl7.url: ${why}`);
      expect(text, url).not.toContain("hunter2");
    }
  });

  it("config check reports a cleartext routes.hl7.url (exit 2)", () => {
    const r = configCheckExample(
      t.h.tmp.dir,
      "url: https://sandbox.patientsknowbest.com:7443/services/hl7",
      "url: http://sandbox.patientsknowbest.com:7443/services/hl7",
    );
    expect(r.stderr).toContain(
      "routes.hl7.url: uses cleartext http:// to sandbox.patientsknowbest.com: only https:// is allowed beyond loopback",
    );
    expect(r.status).toBe(2);
  });

  it("no Authorization or NHS number leaves in cleartext to a URL that does not look like loopback: refused before any connection", async () => {
    const { h } = t;
    const raw = await rawListener();
    try {
      // 0.0.0.0 and ::ffff:127.0.0.1 reach this loopback listener, but do not look like loopback.
      for (const host of ["0.0.0.0", "[::ffff:127.0.0.1]"]) {
        const url = `http://${host}:${raw.port}/services/hl7`;
        expect(refused(() => h.config({ url }))).toContain("routes.hl7.url: uses cleartext http://");
        // Even a configuration that skipped the schema: the client refuses, at start.
        const cfg = h.config();
        const forced: Config = {
          ...cfg,
          routes: { hl7: { ...(cfg.routes.hl7 as NonNullable<Config["routes"]["hl7"]>), url } },
        };
        expect(
          refused(
            () => new SoapClient({ url, username: "partner", password: "partner-password", timeoutMs: 500 }),
          ),
        ).toContain("routes.hl7.url uses cleartext http://");
        const ctx = h.context(forced);
        const [route] = (await createRoutes(ctx)).filter((r) => r.route === "hl7");
        await expect(route?.start()).rejects.toMatchObject({ code: "CONFIG_INVALID" });
        await h.buffer.ingest([h.reading()]);
        route?.poke();
        await route?.stop();
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(raw.bytes()).toBe("");
      // The control: the same listener does see what goes to it in cleartext over loopback.
      const control = new SoapClient({
        url: `http://127.0.0.1:${raw.port}/services/hl7`,
        username: "partner",
        password: "partner-password",
        timeoutMs: 300,
      });
      await control.send(`PID|1||${NHS}^^^NHS^NH`);
      control.close();
      expect(raw.bytes()).toMatch(/authorization: Basic /i);
      expect(raw.bytes()).toContain(NHS);
    } finally {
      await raw.close();
    }
  });

  it("the stand-in can refuse cleartext beyond loopback, as PKB (HTTPS only) would", async () => {
    const { h } = t;
    await h.pkb.stop();
    const { startHl7Standin } = await import("../standin/hl7/server.js");
    h.pkb = await startHl7Standin({ refuseCleartextBeyondLoopback: true });
    const port = new URL(h.pkb.url).port;
    const ask = (host: string) =>
      new Promise<number>((resolve, reject) => {
        import("node:http").then(({ request }) => {
          const req = request(
            { host: "127.0.0.1", port, path: "/services/hl7", method: "POST", headers: { host } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on("error", reject);
          req.end("<x/>");
        });
      });
    expect(await ask("pkb.example.org")).toBe(403);
    expect(await ask(`127.0.0.1:${port}`)).toBe(401); // loopback: served (and asked for credentials)
    expect(h.pkb.cleartextRefused()).toBe(1);
  });

  it("date of birth: not in the future, not before 1900", () => {
    const { h } = t;
    const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    expect(refused(() => h.config({}, { dob: tomorrow }))).toContain(
      "patients[0].dob: date of birth must not be in the future",
    );
    expect(refused(() => h.config({}, { dob: "1899-12-31" }))).toContain(
      "patients[0].dob: date of birth must not be before 1900",
    );
    expect(refused(() => h.config({}, { dob: "1900-01-01" }))).toBe("");
    expect(refused(() => h.config({}, { dob: today }))).toBe("");
  });

  it("MSH-4 alias and MSH-3: not blank, no HL7 delimiter, no spaces at either end; username without ':'", () => {
    const { h } = t;
    const cases: Array<[Record<string, string>, string]> = [
      [{ sendingFacility: "" }, "routes.hl7.sendingFacility: must not be blank"],
      [{ sendingFacility: "   " }, "routes.hl7.sendingFacility: must not be blank"],
      [{ sendingFacility: "ALIAS|X" }, "routes.hl7.sendingFacility: must not contain an HL7 delimiter"],
      [{ sendingFacility: "ALIAS^X" }, "routes.hl7.sendingFacility: must not contain an HL7 delimiter"],
      [{ sendingFacility: "A&B" }, "routes.hl7.sendingFacility: must not contain an HL7 delimiter"],
      [{ sendingFacility: "A~B" }, "routes.hl7.sendingFacility: must not contain an HL7 delimiter"],
      [{ sendingFacility: "A\\B" }, "routes.hl7.sendingFacility: must not contain an HL7 delimiter"],
      [{ sendingFacility: " ALIAS" }, "routes.hl7.sendingFacility: must not start or end with spaces"],
      [{ sendingFacility: "ALIAS\n" }, "routes.hl7.sendingFacility: must not start or end with spaces"],
      [{ sendingFacility: "AL\u0007IAS" }, "routes.hl7.sendingFacility: must not contain control characters"],
      [{ sendingApplication: "HUB^1" }, "routes.hl7.sendingApplication: must not contain an HL7 delimiter"],
      [{ username: "part:ner" }, "routes.hl7.username: must not contain ':'"],
      [{ username: " " }, "routes.hl7.username: must not be blank"],
    ];
    for (const [patch, why] of cases)
      expect(
        refused(() => h.config(patch)),
        JSON.stringify(patch),
      ).toContain(why);
    expect(refused(() => h.config({ sendingFacility: "CUSTOMER-ALIAS.01" }))).toBe("");
  });

  it("routes.hl7.identity is gone: it changed nothing (MSH-4 alone says on whose behalf)", () => {
    const { h } = t;
    expect(refused(() => h.config({ identity: "customer-alias" }))).toContain(
      "routes.hl7: unknown key(s): identity",
    );
  });
});
