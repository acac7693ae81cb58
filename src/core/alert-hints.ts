/**
 * One line per alert code saying what a person should do about it. Shown in MQTT health and
 * events, `pkb-hub status` and `pkb-hub doctor`. Hints are fixed text: they never carry PHI, a
 * PKB error text or a secret, so they may go anywhere an alert code goes.
 */
const HINTS: Record<string, string> = {
  DISK_FULL: "free disk space on the hub (readings are refused until there is room)",
  STORAGE_IO: "the buffer's disk reports I/O errors: check or replace the storage card",
  BUFFER_FULL:
    "the buffer is at its cap with unsent readings: fix delivery (see other alerts) or raise buffer.maxSize",
  BUFFER_CORRUPT:
    "the buffer failed its integrity check and was moved aside: keep the moved file for support",
  BUFFER_REPAIRED:
    "the buffer had damaged indexes and was repaired in place (nothing lost): check or replace the storage card",
  RELINK_NEEDED:
    "a patient's PKB link is missing, revoked or expired: run pkb-hub link for the patients listed in status",
  PKB_SECRET_EXPOSED: "chmod 600 routes.pkbRest.clientSecretFile and have the client secret changed",
  HL7_SECRET_EXPOSED: "chmod 600 routes.hl7.passwordFile and have the partner password changed",
  MQTT_SECRET_EXPOSED: "chmod 600 monitor.mqtt.passwordFile and have the broker password changed",
  HL7_AUTH_FAILED:
    "PKB refused the HL7 partner credentials: fix routes.hl7.username / passwordFile (readings are held)",
  HL7_ENDPOINT_NOT_FOUND: "PKB's HL7 endpoint answered 404: fix routes.hl7.url (readings are held)",
  AMBIGUOUS_DELIVERY:
    "a delivery may or may not have reached PKB: check the record, then settle it with pkb-hub outbox resolve",
  DEAD_LETTERS:
    "readings could not be delivered: read the reasons with pkb-hub outbox list, fix, then pkb-hub outbox retry",
  QUARANTINED_READINGS:
    "a device sent physically impossible values (kept, not forwarded): check the device and its driver",
  DEVICE_SILENT:
    "a device has sent nothing for longer than its expected interval: check power, pairing and range",
  CLOCK_UNSYNCED: "the hub clock is not synchronised (readings are held): check network time (timedatectl)",
  CONFIG_RELOAD_FAILED:
    "the edited configuration is invalid and was not applied: run pkb-hub config check on it",
};

const FALLBACK = "see pkb-hub status and the agent log for this alert";

export function alertHint(code: string): string {
  return HINTS[code] ?? FALLBACK;
}

/** Every code with its own hint (tests check that each alert the agent raises has one). */
export const HINTED_ALERT_CODES: readonly string[] = Object.keys(HINTS);
