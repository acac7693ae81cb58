import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conditionAlerts, type HubStatus } from "../../src/agent/status.js";
import { alertHint } from "../../src/core/alert-hints.js";
import { monitorJsonSchemas } from "../../src/monitor/schemas.js";

const CONFIG = join(import.meta.dirname, "../../config");

describe("MQTT payload schemas and alert hints", () => {
  it("the JSON Schemas in config/ are the ones the code generates (npm run schema)", () => {
    for (const [name, schema] of Object.entries(monitorJsonSchemas())) {
      expect(JSON.parse(readFileSync(join(CONFIG, name), "utf8")), name).toEqual(schema);
    }
  });

  it("every alert the agent raises has its own fix hint", () => {
    const derived = [
      ...conditionAlerts({
        devices: [],
        buffer: { byState: {} },
        clockSynced: true,
      } as unknown as HubStatus).keys(),
    ];
    const raised = [
      ...derived,
      "DISK_FULL",
      "STORAGE_IO",
      "BUFFER_FULL",
      "BUFFER_CORRUPT",
      "RELINK_NEEDED",
      "PKB_SECRET_EXPOSED",
      "HL7_SECRET_EXPOSED",
      "HL7_AUTH_FAILED",
      "HL7_ENDPOINT_NOT_FOUND",
      "AMBIGUOUS_DELIVERY",
      "CONFIG_RELOAD_FAILED",
      "MQTT_SECRET_EXPOSED",
    ];
    const fallback = alertHint("NO_SUCH_ALERT");
    expect(raised.filter((code) => alertHint(code) === fallback)).toEqual([]);
    expect(derived).toEqual(["DEVICE_SILENT", "DEAD_LETTERS", "QUARANTINED_READINGS", "CLOCK_UNSYNCED"]);
  });
});
