import { randomUUID } from "node:crypto";
import type { Clock } from "./clock.js";
import { EARLIEST_PLAUSIBLE_MS } from "./clock.js";
import { CODES, type CodeRow } from "./codes.js";
import { HubError } from "./errors.js";
import { idempotencyKey, type KeyTime } from "./key.js";
import { describeLimits, isImpossible } from "./limits.js";
import type { Component, Flag, Reading, ReadingDraft, TimeSource } from "./reading.js";
import {
  chooseOverlapInstant,
  isoInZone,
  isValidLocal,
  localToString,
  type OverlapChoice,
  offsetMinutes,
  zonedToInstant,
} from "./time.js";
import { canConvert, convert, roundTo } from "./units.js";

export interface FinishContext {
  deviceId: string;
  driver: string;
  patient: string;
  timeZone: string;
  clock: Clock;
  /** Hub wall time when the bytes arrived. */
  receivedAtMs: number;
  /** Device clock minus hub clock, if the transport measured it (Current Time, ASTM header). */
  deviceClockSkewMs?: number;
  /**
   * A token unique to this receipt, for records with no identity of their own in time (no device
   * time): each receipt is then one reading. Defaults to a random UUID; tests inject their own.
   */
  receiptToken?: () => string;
}

/** Device clocks that were never set report 2000/2010 dates: such a time is not a measurement time. */
const DEVICE_TIME_FLOOR_MS = Date.UTC(2015, 0, 1);
const SKEW_FLAG_MS = 5 * 60_000;
const FUTURE_TOLERANCE_MS = 10 * 60_000;

function toComponents(draft: ReadingDraft, flags: Flag[], impossible: string[]): Component[] {
  return draft.components.map((c) => {
    const row = CODES[c.id] as CodeRow | undefined;
    if (!row) throw new HubError("READING_INVALID", "reading has a component the code table does not know");
    if (!Number.isFinite(c.value))
      throw new HubError("READING_INVALID", `component ${c.id} is not a finite number`);
    if (!canConvert(c.unit, row.unit)) {
      throw new HubError("READING_INVALID", `component ${c.id} has unit ${c.unit}, expected ${row.unit}`);
    }
    // Rounded once, here, to the component's resolution: routes format it and never compute.
    const value = roundTo(convert(c.value, c.unit, row.unit), row.decimals);
    if (!Number.isFinite(value))
      throw new HubError("READING_INVALID", `component ${c.id} is beyond any number in ${row.unit}`);
    if (isImpossible(c.id, value)) {
      flags.push(`impossible:${c.id}`);
      impossible.push(describeLimits(c.id));
    } else if (value < row.range[0] || value > row.range[1]) flags.push(`out-of-range:${c.id}`);
    return { id: c.id, code: row.loinc, snomed: row.snomed, mdc: row.mdc, value, unit: row.unit };
  });
}

/** A record with no identity of its own in time is one reading per receipt. */
function receiptKeyTime(ctx: FinishContext): KeyTime {
  return { receivedAtMs: ctx.receivedAtMs, token: (ctx.receiptToken ?? randomUUID)() };
}

/**
 * Turns a driver's draft into a durable Reading: canonical units, range flags, quarantine of
 * physically impossible values (hard limits, limits.ts), the measurement time and its source, and
 * the idempotency key built from what the device sent.
 */
export function finishReading(draft: ReadingDraft, ctx: FinishContext): Reading {
  if (draft.components.length === 0) throw new HubError("READING_INVALID", "reading has no components");
  const flags: Flag[] = [...(draft.flags ?? [])];
  const impossible: string[] = [];
  const components = toComponents(draft, flags, impossible);
  const synced = ctx.clock.isSynced() && ctx.receivedAtMs >= EARLIEST_PLAUSIBLE_MS;
  const receivedAt = isoInZone(ctx.receivedAtMs, ctx.timeZone);

  let measuredAt = receivedAt;
  let timeSource: TimeSource = synced ? "hub" : "hub-unsynced";
  let deviceTime: string | undefined;
  let keyTime: KeyTime | undefined;
  if (draft.deviceTime) {
    deviceTime = localToString(draft.deviceTime);
    keyTime = { local: deviceTime };
    const valid = isValidLocal(draft.deviceTime);
    const zoned = valid ? zonedToInstant(draft.deviceTime, ctx.timeZone) : undefined;
    // In a DST overlap the wall time names two instants: choose from the receipt where it can tell.
    const choice: OverlapChoice | undefined =
      zoned?.ambiguous !== true
        ? undefined
        : synced
          ? chooseOverlapInstant(zoned.candidates, ctx.receivedAtMs + (ctx.deviceClockSkewMs ?? 0))
          : { epochMs: zoned.epochMs, basis: "unknown" };
    if (choice && draft.seq === undefined) {
      // Nothing else tells the two records of the repeated hour apart: a certain choice keys on the
      // offset too; otherwise the receipt does, so they are never merged (a re-sent copy may reach
      // PKB twice, flagged: see key.md).
      keyTime =
        choice.basis === "certain"
          ? { local: deviceTime, offsetMin: offsetMinutes(choice.epochMs, ctx.timeZone) }
          : receiptKeyTime(ctx);
    }
    if (!zoned || zoned.epochMs < DEVICE_TIME_FLOOR_MS) {
      flags.push("device-time-invalid");
    } else if (synced && zoned.epochMs > ctx.receivedAtMs + FUTURE_TOLERANCE_MS) {
      flags.push("device-time-future");
    } else {
      measuredAt = choice ? isoInZone(choice.epochMs, ctx.timeZone) : zoned.iso;
      timeSource = "device";
      if (choice && choice.basis !== "certain") flags.push("ambiguous-local-time");
      if (zoned.nonexistent) flags.push("nonexistent-local-time");
    }
  }

  const reading: Reading = {
    key: idempotencyKey({
      deviceId: ctx.deviceId,
      patient: ctx.patient,
      userSlot: draft.userSlot,
      kind: draft.kind,
      time: keyTime ?? receiptKeyTime(ctx),
      seq: draft.seq,
      values: draft.components,
    }),
    deviceId: ctx.deviceId,
    driver: ctx.driver,
    patient: ctx.patient,
    kind: draft.kind,
    components,
    measuredAt,
    timeSource,
    receivedAt,
    flags,
    meta: { ...(draft.meta ?? {}) },
  };
  if (synced && ctx.deviceClockSkewMs !== undefined) {
    reading.deviceClockSkewSec = Math.round(ctx.deviceClockSkewMs / 1000);
    if (Math.abs(ctx.deviceClockSkewMs) > SKEW_FLAG_MS) flags.push("device-clock-skew");
  }
  if (deviceTime !== undefined || draft.seq !== undefined) {
    reading.source = {};
    if (deviceTime !== undefined) reading.source.deviceTime = deviceTime;
    if (draft.seq !== undefined) reading.source.seq = draft.seq;
  }
  if (draft.userSlot !== undefined) reading.meta.userSlot = draft.userSlot;
  // Physically impossible values are kept for the record but never forwarded (the buffer stores
  // the reading as quarantined). The reason names components and limits, never the values.
  if (impossible.length > 0) reading.quarantine = `physically impossible: ${impossible.join("; ")}`;
  return reading;
}
