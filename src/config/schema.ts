import { z } from "zod";
import { isValidNhsNumber } from "../core/nhs.js";
import { isValidTimeZone } from "../core/time.js";
import { crossFieldIssues } from "./checks.js";
import { hl7RouteSchema, mqttSchema, pkbRestRouteSchema } from "./routes.js";

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const id = (what: string) =>
  z.string().regex(idPattern, `${what} must be 1-64 letters, digits, '_', '.' or '-'`);

const SIZE_WORDS =
  "must be a number of bytes or a number with a unit (B, KiB, MiB, GiB, KB, MB, GB), e.g. '512 MiB'";
const sizeSchema = z
  .union(
    [
      z.number().int().positive(SIZE_WORDS),
      z.string().regex(/^\d+(\.\d+)?\s*(B|KiB|MiB|GiB|KB|MB|GB)$/i, SIZE_WORDS),
    ],
    { error: SIZE_WORDS },
  )
  .transform((v) => (typeof v === "number" ? v : parseSize(v)));

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(text.trim());
  const units: Record<string, number> = {
    b: 1,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
  };
  const factor = m?.[2] ? units[m[2].toLowerCase()] : undefined;
  if (!m?.[1] || factor === undefined) throw new Error(`not a size: ${text}`);
  return Math.floor(Number(m[1]) * factor);
}

/**
 * A name as PKB would store and show it (sent in HL7 PID-5): something visible on one line, in
 * valid Unicode. A line break would be stored as `\.br\` inside the name; a lone surrogate would
 * be sent as U+FFFD, another name than the one configured.
 */
const personName = z
  .string()
  .refine((v) => v.trim() !== "", "must not be blank")
  .refine((v) => !/[\p{Cc}\u2028\u2029]/u.test(v), "must not contain line breaks or other control characters")
  .refine((v) => !/\p{Cs}/u.test(v), "must be valid Unicode text");

export const patientSchema = z.strictObject({
  key: id("patient key").describe("Local patient key; never a name or NHS number"),
  route: z.enum(["pkb-rest", "hl7"]),
  nhsNumber: z
    .string()
    .transform((v) => v.replace(/[\s-]/g, ""))
    .refine(isValidNhsNumber, "NHS number must be 10 digits with a valid Modulus 11 check digit")
    .optional(),
  firstName: personName.optional(),
  lastName: personName.optional(),
  dob: z.iso
    .date()
    .refine((d) => d >= "1900-01-01", "date of birth must not be before 1900")
    // Today somewhere on Earth (UTC+14 is the first to reach a date) is the latest possible birth date.
    .refine((d) => Date.parse(`${d}T00:00:00+14:00`) <= Date.now(), "date of birth must not be in the future")
    .optional()
    .describe("YYYY-MM-DD"),
  sex: z.enum(["M", "F", "U"]).optional().describe("Sex at birth, HL7 table 0001"),
});

export const deviceSchema = z.strictObject({
  id: id("device id"),
  driver: z.string().min(1).describe("Driver id, e.g. ble-blood-pressure"),
  patient: id("patient key").optional().describe("Patient the device is bound to"),
  userSlots: z
    .record(z.string().regex(/^\d+$/, 'user slot must be a whole number, e.g. "1"'), id("patient key"))
    .optional()
    .describe("Device user slot → patient key (BP monitors and scales with several users)"),
  serialPath: z.string().optional().describe("Stable serial path, e.g. /dev/serial/by-id/usb-..."),
  bleAddress: z
    .string()
    .regex(
      /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i,
      "BLE address must be six pairs of hex digits joined by ':', e.g. 00:11:22:33:44:55",
    )
    .optional(),
  simulate: z
    .boolean()
    .default(false)
    .describe("Use the built-in simulator instead of hardware (demo, tests)"),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  expectedIntervalHours: z
    .number()
    .positive()
    .max(24 * 90)
    .optional()
    .describe("The device is expected to send at least this often; longer silence raises DEVICE_SILENT"),
});

export const configSchema = z
  .strictObject({
    hub: z.strictObject({
      id: id("hub id"),
      timeZone: z.string().default("Europe/London").refine(isValidTimeZone, "unknown IANA time zone"),
      dataDir: z.string().min(1).default("/var/lib/pkb-hub"),
      user: z
        .string()
        .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "user must be a system account name, e.g. pkb-hub")
        .optional()
        .describe(
          "Account that owns the hub's state (commands run as root leave files it owns); default: the data directory's owner, else pkb-hub",
        ),
    }),
    clock: z
      .strictObject({
        mode: z.enum(["auto", "assume-synced"]).default("auto"),
        checkIntervalSec: z.number().int().min(1).default(30),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      })
      .prefault({}),
    buffer: z
      .strictObject({
        file: z.string().default("buffer.db").describe("Relative to hub.dataDir"),
        maxSize: sizeSchema.default(512 * 1024 * 1024).describe("Size cap, e.g. '512 MiB'"),
        retentionDays: z.number().min(0).default(30).describe("Delivered rows kept this long"),
        maxAttempts: z.number().int().min(1).default(50),
        backoffBaseMs: z.number().int().min(1).default(2000),
        backoffMaxMs: z.number().int().min(1).default(3_600_000),
        leaseSec: z.number().int().min(1).default(120),
        groupCommitMs: z.number().min(0).max(50).default(2),
      })
      .prefault({}),
    patients: z.array(patientSchema).default([]),
    devices: z.array(deviceSchema).default([]),
    routes: z
      .strictObject({ pkbRest: pkbRestRouteSchema.optional(), hl7: hl7RouteSchema.optional() })
      .prefault({}),
    monitor: z.strictObject({ mqtt: mqttSchema.optional() }).prefault({}),
  })
  .superRefine((cfg, ctx) => {
    // Cross-field checks live in checks.ts so `config check` can run them on a broken input too.
    for (const issue of crossFieldIssues(cfg)) ctx.addIssue({ code: "custom", ...issue });
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type PatientConfig = Config["patients"][number];
export type DeviceConfig = Config["devices"][number];
export type BufferConfig = Config["buffer"];
