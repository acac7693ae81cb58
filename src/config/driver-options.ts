import { z } from "zod";
import type { DriverDefinition } from "../../drivers/types.js";

type Shape = Record<string, z.ZodType>;

/**
 * What `devices[].options` may hold, per driver. An option the driver does not read is refused
 * (a typo such as `condenseWindowSecs` would otherwise be silently ignored), and every value is
 * checked for type and range before the agent turns it into a timer or a sample count.
 */

/** Drivers the built-in simulator can play (`simulate: true`), with the options it reads. */
const SIMULATOR_OPTIONS: Record<string, Shape> = {
  "contour-serial": {
    records: z.number().int().min(0).max(100_000).describe("Records in the simulated meter's memory"),
    frameDelayMs: z.number().min(0).max(60_000).describe("Pause before each frame, like a slow meter"),
    firstRecordMs: z.number().int().min(0).describe("Wall time (ms since 1970) of the first record"),
  },
  "nonin-serial": {
    packets: z.number().int().min(0).max(10_000_000).describe("Packets the simulated oximeter sends"),
    packetsPerSec: z.number().positive().max(10_000).describe("Packets per second (3 on a real device)"),
  },
};

/** Options of drivers that condense a continuous stream into spot readings. */
const STREAM_OPTIONS: Shape = {
  condenseWindowSec: z.number().positive().max(3600).describe("One spot reading per window of this length"),
  condenseMinSamples: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .describe("Samples a window needs to make a reading"),
};

export function hasSimulator(driverId: string): boolean {
  return SIMULATOR_OPTIONS[driverId] !== undefined;
}

export function simulatedDriverIds(): string[] {
  return Object.keys(SIMULATOR_OPTIONS);
}

function isContinuous(driver: DriverDefinition): boolean {
  if (driver.continuous === true) return true;
  return driver.matcher.transport === "ble" && (driver.matcher.streams?.length ?? 0) > 0;
}

/** The options `driver` reads when the device is (or is not) simulated. */
export function driverOptionsShape(driver: DriverDefinition, simulate: boolean): Shape {
  return {
    ...(isContinuous(driver) ? STREAM_OPTIONS : {}),
    ...(simulate ? (SIMULATOR_OPTIONS[driver.id] ?? {}) : {}),
  };
}

/** Every problem with one device's options: path below `options`, message in words. */
export function driverOptionsProblems(
  driver: DriverDefinition,
  simulate: boolean,
  options: Record<string, unknown>,
): Array<{ key: string; message: string }> {
  const shape = driverOptionsShape(driver, simulate);
  const known = Object.keys(shape);
  const problems: Array<{ key: string; message: string }> = [];
  for (const [key, value] of Object.entries(options)) {
    const schema = shape[key];
    if (!schema) {
      const simOnly = !simulate && SIMULATOR_OPTIONS[driver.id]?.[key] !== undefined;
      problems.push({
        key,
        message: simOnly
          ? `is a simulator option: it is only read with simulate: true`
          : `is not an option of driver ${driver.id} (${known.length === 0 ? "it takes none" : `it takes ${known.join(", ")}`})`,
      });
      continue;
    }
    const result = schema.safeParse(value);
    if (!result.success) problems.push({ key, message: result.error.issues[0]?.message ?? "is invalid" });
  }
  return problems;
}
