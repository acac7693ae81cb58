import { chmodSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRoutes } from "../../src/agent/routes.js";
import { until } from "../support/wait.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

describe("hl7 route in the agent", () => {
  it("is created for a configuration with an hl7 patient and delivers", async () => {
    const { h } = t;
    const ctx = h.context();
    const routes = (await createRoutes(ctx)).filter((r) => r.route === "hl7");
    expect(routes.map((r) => r.name)).toEqual(["route:hl7"]);
    const route = routes[0];
    await route?.start();
    try {
      expect(h.buffer.alerts.has("HL7_SECRET_EXPOSED")).toBe(false);
      await h.buffer.ingest([h.reading()]);
      route?.poke();
      await until(() => h.stats().byState.delivered === 1);
    } finally {
      await route?.stop();
    }
  });

  it("a password file others can read raises an alert, and readings still flow", async () => {
    const { h } = t;
    chmodSync(join(h.tmp.dir, "password"), 0o644);
    const ctx = h.context();
    const [route] = (await createRoutes(ctx)).filter((r) => r.route === "hl7");
    await route?.start();
    try {
      expect(h.buffer.alerts.has("HL7_SECRET_EXPOSED")).toBe(true);
      await h.buffer.ingest([h.reading()]);
      route?.poke();
      await until(() => h.stats().byState.delivered === 1);
    } finally {
      await route?.stop();
    }
  });
});

describe("HL7 stand-in", () => {
  it("shows what it received on GET /inspect", async () => {
    const { h } = t;
    h.knownToPkb();
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.stats().byState.delivered === 1);
    const res = await fetch(new URL("/inspect", h.pkb.url));
    expect(await res.json()).toMatchObject({
      received: [{ type: "QRY^A19" }, { type: "ORU^R01" }],
      observations: { [NHS]: 2 },
      duplicateControlIds: 0,
    });
  });
});

describe("routes.hl7 configuration", () => {
  it("a SNOMED override for an unknown component is a config error, not a silently unused row", () => {
    const { h } = t;
    expect(() => h.config({ snomed: { "bp-systolc": { code: "1", unit: "mm[Hg]" } } })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
    expect(h.config({ snomed: { "bp-systolic": { code: "1", unit: "mm[Hg]" } } }).routes.hl7?.snomed).toEqual(
      {
        "bp-systolic": { code: "1", unit: "mm[Hg]" },
      },
    );
  });
});
