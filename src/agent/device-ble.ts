import { BATTERY_LEVEL, BATTERY_SERVICE, decodeBatteryLevel } from "../../drivers/battery.js";
import { glucoseSequence, RACP } from "../../drivers/ble-glucose/index.js";
import { Condenser, condensePolicy } from "../../drivers/condense.js";
import type { DriverDefinition } from "../../drivers/types.js";
import type { DeviceConfig } from "../config/schema.js";
import { HubError, isHubError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { ReadingDraft } from "../core/reading.js";
import { Sleeper } from "../core/sleeper.js";
import { type AdapterLock, BleLink, findPeripheral } from "../transport/ble.js";
import type { NobleLike } from "../transport/ble-types.js";
import type { AgentContext, Component } from "./context.js";
import { type DeviceCounters, newCounters, ReadingSink, sessionTally } from "./device-sink.js";

const CURRENT_TIME = "2a2b";
const RACP_RESPONSE = 0x06;

export interface BleDeviceOptions {
  noble: () => Promise<NobleLike>;
  lock: AdapterLock;
  scanTimeoutMs?: number;
  /** Pause between sessions (devices connect when they have something to send). */
  idleMs?: number;
  retry?: { baseMs: number; maxMs: number };
}

/** RACP "report stored records": all, or only those after the last one stored (sequence number filter). */
export function racpRequest(lastSeq: number | undefined): Uint8Array {
  if (lastSeq === undefined) return Uint8Array.of(0x01, 0x01);
  const next = (lastSeq + 1) & 0xffff;
  return Uint8Array.of(0x01, 0x03, 0x01, next & 0xff, next >> 8);
}

/** Current Time (0x2A2B) from the hub's local time: date time, day of week, fractions, adjust reason. */
export function currentTimeValue(epochMs: number, timeZone: string): Uint8Array {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
    weekday: "short",
  }).formatToParts(new Date(epochMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "0";
  const year = Number(get("year"));
  const dow = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(get("weekday")) + 1;
  return Uint8Array.of(
    year & 0xff,
    year >> 8,
    Number(get("month")),
    Number(get("day")),
    Number(get("hour")),
    Number(get("minute")),
    Number(get("second")),
    dow,
    0,
    0x01, // manual time update
  );
}

/**
 * One BLE device: scan (adapter shared with others), connect, set the device clock where it has
 * Current Time, subscribe, and for glucose meters ask only for records after the last one stored.
 * The last sequence number advances only after its reading is durable, so a disconnect mid-transfer
 * loses nothing and the next session does not store anything twice.
 */
export class BleDevice implements Component {
  readonly name: string;
  readonly counters: DeviceCounters = newCounters();
  private readonly sink: ReadingSink;
  private readonly log: Logger;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private link: BleLink | undefined;
  private readonly sleeper = new Sleeper();
  /** One condenser per stream characteristic (heart rate, PLX continuous): samples are not readings. */
  private readonly condensers = new Map<string, Condenser>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly device: DeviceConfig,
    private readonly driver: DriverDefinition,
    private readonly options: BleDeviceOptions,
  ) {
    this.name = `device:${device.id}`;
    this.log = ctx.logger.child({ component: "device", device: device.id, driver: driver.id });
    this.sink = new ReadingSink(ctx, device, driver, this.log, this.counters);
  }

  private get seqKey(): string {
    return `racp-last-seq:${this.device.id}`;
  }

  async start(): Promise<void> {
    this.running = true;
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let sessions = 0;
    while (this.running) {
      let delay = this.options.idleMs ?? 5000;
      try {
        await this.options.lock.run(() => this.session());
        if (sessions++ > 0) this.counters.reconnects++;
        failures = 0;
        this.counters.lastErrorCode = null;
      } catch (err) {
        if (!this.running) break;
        failures++;
        const code = isHubError(err) ? err.code : "INTERNAL";
        this.counters.lastErrorCode = code;
        if (code === "BLUETOOTH_UNAVAILABLE" || code === "BLE_BONDING_REQUIRED") {
          if (failures === 1) this.log.error({ code, err }, "BLE device cannot be read");
          delay = 60_000;
        } else {
          const retry = this.options.retry ?? { baseMs: 1000, maxMs: 60_000 };
          delay = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(failures, 10));
          this.log.debug({ code }, "BLE session ended with an error");
        }
      }
      if (!this.running) break;
      await this.sleeper.sleep(delay);
    }
  }

  private async session(): Promise<void> {
    if (this.driver.matcher.transport !== "ble")
      throw new HubError("INTERNAL", `${this.driver.id} is not a BLE driver`);
    const { services, characteristics, racp } = this.driver.matcher;
    const noble = await this.options.noble();
    this.counters.adapterState = noble.state;
    const peripheral = await findPeripheral(
      noble,
      services,
      this.device.bleAddress,
      this.options.scanTimeoutMs ?? 30_000,
    ).finally(() => {
      this.counters.adapterState = noble.state;
    });
    const link = await BleLink.connect(
      peripheral,
      services,
      [...characteristics, ...(racp ? [racp] : [])],
      [CURRENT_TIME],
      { services: [BATTERY_SERVICE], characteristics: [BATTERY_LEVEL] },
    );
    this.link = link;
    const level = await link.readValue(BATTERY_LEVEL);
    if (level) this.battery(level);
    const tally = sessionTally(this.counters);
    const deviceId = `${this.driver.id}:${peripheral.address.toLowerCase()}`;
    try {
      if (link.has(CURRENT_TIME) && this.ctx.clock.isSynced()) {
        await link
          .write(CURRENT_TIME, currentTimeValue(this.ctx.clock.nowMs(), this.ctx.config.hub.timeZone))
          .catch(() => this.log.debug("device refused Current Time write"));
      }
      if (racp) {
        const stored = this.ctx.buffer.kvGet(this.seqKey);
        await link.write(racp, racpRequest(stored === undefined ? undefined : Number(stored)));
      }
      for (;;) {
        const frame = await link.read();
        this.counters.lastSeenMs = this.ctx.clock.nowMs();
        if (frame.characteristic === BATTERY_LEVEL) {
          this.battery(frame.bytes);
          continue;
        }
        if (racp && frame.characteristic === RACP) {
          if (frame.bytes[0] === RACP_RESPONSE) break; // transfer complete (or no records)
          continue;
        }
        await this.handle(frame.characteristic, frame.bytes, deviceId, racp !== undefined);
      }
    } catch (err) {
      if (!isHubError(err, "TRANSPORT_CLOSED")) throw err;
      // The device hung up: normal for BP monitors and scales after sending; mid-transfer for others.
    } finally {
      this.link = undefined;
      await link.close();
      await this.flushStreams(deviceId);
      this.log.info(tally(), "device session ended");
    }
  }

  /** A Battery Level value (read at connect, or notified): health shows it; a bad one is ignored. */
  private battery(bytes: Uint8Array): void {
    try {
      this.counters.batteryPercent = decodeBatteryLevel(bytes);
    } catch (err) {
      this.log.debug({ code: isHubError(err) ? err.code : "INTERNAL" }, "battery level ignored");
    }
  }

  /** The end of a session closes every stream's window: what it condensed is a reading. */
  private async flushStreams(deviceId: string): Promise<void> {
    const now = this.ctx.clock.nowMs();
    const closed = [...this.condensers.values()].map((c) => c.flush(now)).filter((x) => x !== undefined);
    if (closed.length > 0 && !(await this.sink.store(closed, deviceId)))
      this.log.warn({ code: "STORAGE_IO" }, "condensed stream reading not stored");
  }

  private async handle(
    characteristic: string,
    bytes: Uint8Array,
    deviceId: string,
    sequenced: boolean,
  ): Promise<void> {
    let drafts: ReadingDraft[];
    try {
      // The driver refuses a characteristic it does not decode (FRAME_UNSUPPORTED): never a reading.
      drafts = this.driver.decode(bytes, characteristic);
    } catch (err) {
      this.counters.malformedFrames++;
      const code = isHubError(err) ? err.code : "INTERNAL";
      this.log.warn(
        { code, characteristic },
        code === "FRAME_UNSUPPORTED" ? "frame ignored" : "malformed frame",
      );
      return;
    }
    const now = this.ctx.clock.nowMs();
    const toStore = this.streams.includes(characteristic)
      ? drafts.flatMap((draft) => this.condenserFor(characteristic).push(draft, now) ?? [])
      : drafts.map((draft) => ({ draft, atMs: now }));
    const ok = await this.sink.store(toStore, deviceId);
    if (!ok)
      throw new HubError("STORAGE_IO", "readings not stored: ending the session so the device keeps them");
    if (sequenced) {
      // Only now, with the record durable, does the hub remember it has it.
      const seq = glucoseSequence(bytes);
      const last = Number(this.ctx.buffer.kvGet(this.seqKey) ?? -1);
      if (seq > last) this.ctx.buffer.kvSet(this.seqKey, String(seq));
    }
  }

  private get streams(): string[] {
    return this.driver.matcher.transport === "ble" ? (this.driver.matcher.streams ?? []) : [];
  }

  private condenserFor(characteristic: string): Condenser {
    let c = this.condensers.get(characteristic);
    if (!c) {
      c = new Condenser(condensePolicy(this.device.options));
      this.condensers.set(characteristic, c);
    }
    return c;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.sleeper.wake();
    await this.link?.close();
    await this.loopDone;
  }
}
