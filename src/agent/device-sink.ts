import type { DriverDefinition } from "../../drivers/types.js";
import type { DeviceConfig } from "../config/schema.js";
import { type HubError, isHubError } from "../core/errors.js";
import { finishReading } from "../core/finish.js";
import type { Logger } from "../core/log.js";
import type { Reading, ReadingDraft } from "../core/reading.js";
import type { AgentContext } from "./context.js";

export interface DeviceCounters {
  readings: number;
  duplicates: number;
  malformedFrames: number;
  discardedBytes: number;
  unmappedUser: number;
  notStored: number;
  reconnects: number;
  lastSeenMs: number | null;
  /** Percent, from the standard Battery Service where a BLE device has it (health shows it); null otherwise. */
  batteryPercent: number | null;
  /** noble's adapter state (poweredOn, poweredOff, unauthorized, …) when a BLE device last used it. */
  adapterState: string | null;
  /** Code of the last failure to reach the device (e.g. BLUETOOTH_UNAVAILABLE); null after a good session. */
  lastErrorCode: string | null;
}

export function newCounters(): DeviceCounters {
  return {
    readings: 0,
    duplicates: 0,
    malformedFrames: 0,
    discardedBytes: 0,
    unmappedUser: 0,
    notStored: 0,
    reconnects: 0,
    lastSeenMs: null,
    batteryPercent: null,
    adapterState: null,
    lastErrorCode: null,
  };
}

/**
 * What one session with a device added (how many readings, repeats, refused frames, unstored),
 * for its one info line: counts only, never a value.
 */
export function sessionTally(counters: DeviceCounters): () => Record<string, number> {
  const at = { ...counters };
  return () => ({
    readings: counters.readings - at.readings,
    duplicates: counters.duplicates - at.duplicates,
    refusedFrames: counters.malformedFrames - at.malformedFrames,
    unmappedUser: counters.unmappedUser - at.unmappedUser,
    notStored: counters.notStored - at.notStored,
  });
}

/** Which patient a draft belongs to: the device's user slot mapping first, else the bound patient. */
export function patientFor(device: DeviceConfig, draft: ReadingDraft): string | undefined {
  if (draft.userSlot !== undefined && device.userSlots) return device.userSlots[String(draft.userSlot)];
  return device.patient;
}

/**
 * Where every device's drafts go: bound to a patient, finished into readings and ingested durably.
 * Returns false when they could not be stored, so the transport does not acknowledge the device.
 */
export class ReadingSink {
  constructor(
    private readonly ctx: AgentContext,
    private readonly device: DeviceConfig,
    private readonly driver: DriverDefinition,
    private readonly log: Logger,
    readonly counters: DeviceCounters,
  ) {}

  async store(
    drafts: Array<{ draft: ReadingDraft; atMs: number }>,
    deviceId: string,
    deviceClockSkewMs?: number,
  ): Promise<boolean> {
    const readings: Reading[] = [];
    for (const { draft, atMs } of drafts) {
      const patient = patientFor(this.device, draft);
      if (!patient) {
        this.counters.unmappedUser++;
        this.log.warn(
          { userSlot: draft.userSlot ?? null },
          "reading for a user slot bound to no patient: not stored",
        );
        continue;
      }
      try {
        readings.push(
          finishReading(draft, {
            deviceId,
            driver: this.driver.id,
            patient,
            timeZone: this.ctx.config.hub.timeZone,
            clock: this.ctx.clock,
            receivedAtMs: atMs,
            ...(deviceClockSkewMs !== undefined ? { deviceClockSkewMs } : {}),
          }),
        );
      } catch (err) {
        this.counters.malformedFrames++;
        this.log.warn({ code: isHubError(err) ? err.code : "INTERNAL" }, "reading refused");
      }
    }
    if (readings.length === 0) return true;
    try {
      const result = await this.ctx.buffer.ingest(readings);
      this.counters.readings += result.stored;
      this.counters.duplicates += result.duplicates;
      if (result.stored > 0) this.ctx.pokeRoutes();
      return this.settle(result.refused.map((r) => r.error));
    } catch (err) {
      // Every reading refused, each for good: a refusal like any other (below). Anything else — the
      // storage failed, or a refusal may pass later — is not stored: the device must keep its data.
      if (isHubError(err, "READING_INVALID") && !err.retryable) {
        return this.settle(readings.map(() => err));
      }
      this.counters.notStored += readings.length;
      this.log.error({ code: isHubError(err) ? err.code : "INTERNAL" }, "readings not stored");
      return false;
    }
  }

  /**
   * Whether the device may be acknowledged, given the readings the buffer refused one by one (the
   * others are durable). A reading refused for good (its fields are unusable, it cannot be serialised)
   * would be refused again every time the device sends it: withholding the acknowledgement would not
   * save it, and would stall the device on it (a meter aborts the transfer, a BLE glucose meter replays
   * from it), so every later record would never arrive. It is counted and logged, then acknowledged,
   * as finishReading's refusals are. A reading refused for now (no route for its patient, a database
   * refusal validation did not foresee) would be lost by an acknowledgement: the device is not
   * acknowledged and sends the batch again; its stored readings are then duplicates by key (except a
   * reading keyed on its receipt, with neither device time nor sequence: that one may be stored twice,
   * the price of not losing the other).
   */
  private settle(refusals: readonly HubError[]): boolean {
    let keep = true;
    for (const e of refusals) {
      if (e.retryable) {
        this.counters.notStored++;
        keep = false;
      } else this.counters.malformedFrames++;
      this.log.warn(
        { code: e.code, field: e.details.field ?? null, retryable: e.retryable },
        "reading refused",
      );
    }
    return keep;
  }
}
