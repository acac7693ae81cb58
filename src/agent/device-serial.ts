import { Condenser, condensePolicy } from "../../drivers/condense.js";
import { hex } from "../../drivers/ieee11073.js";
import type { DriverDefinition, SessionEvent } from "../../drivers/types.js";
import type { DeviceConfig } from "../config/schema.js";
import { isHubError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { ReadingDraft } from "../core/reading.js";
import { Sleeper } from "../core/sleeper.js";
import { zonedToInstant } from "../core/time.js";
import type { Transport } from "../transport/types.js";
import type { AgentContext, Component } from "./context.js";
import { type DeviceCounters, newCounters, ReadingSink, sessionTally } from "./device-sink.js";

/**
 * One serial device: open the transport, feed bytes to the driver's session, store its readings,
 * and answer the device only after they are durable. Reconnects with backoff when unplugged.
 */
export class SerialDevice implements Component {
  readonly name: string;
  readonly counters: DeviceCounters = newCounters();
  private readonly sink: ReadingSink;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private readonly log: Logger;
  private serial: string | undefined;
  private skewMs: number | undefined;
  private readonly condenser: Condenser;
  private readonly sleeper = new Sleeper();

  constructor(
    private readonly ctx: AgentContext,
    private readonly device: DeviceConfig,
    private readonly driver: DriverDefinition,
    private readonly transport: Transport,
    private readonly reconnect = { baseMs: 500, maxMs: 30_000 },
  ) {
    this.name = `device:${device.id}`;
    this.log = ctx.logger.child({ component: "device", device: device.id, driver: driver.id });
    this.sink = new ReadingSink(ctx, device, driver, this.log, this.counters);
    this.condenser = new Condenser(condensePolicy(device.options));
  }

  async start(): Promise<void> {
    this.running = true;
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        await this.transport.open();
        if (failures > 0) this.counters.reconnects++;
        failures = 0;
        this.counters.lastErrorCode = null;
        this.log.info({ transport: this.transport.name }, "device connected");
        const tally = sessionTally(this.counters);
        try {
          await this.session();
        } finally {
          this.log.info(tally(), "device session ended");
        }
      } catch (err) {
        if (!this.running) break;
        failures++;
        const code = isHubError(err) ? err.code : "INTERNAL";
        this.counters.lastErrorCode = code;
        const level = failures === 1 ? "warn" : "debug";
        this.log[level]({ code, err }, "device not available; retrying");
      }
      await this.transport.close().catch(() => {});
      await this.flushCondenser();
      if (!this.running) break;
      const delay = Math.min(this.reconnect.maxMs, this.reconnect.baseMs * 2 ** Math.min(failures, 10));
      await this.sleeper.sleep(delay);
    }
  }

  private async session(): Promise<void> {
    const session = this.driver.createSession?.();
    if (!session) throw new Error(`driver ${this.driver.id} has no serial session`);
    for (;;) {
      const bytes = await this.transport.read();
      this.counters.lastSeenMs = this.ctx.clock.nowMs();
      let result: ReturnType<typeof session.push>;
      try {
        result = session.push(bytes);
      } catch (err) {
        this.counters.malformedFrames++;
        this.log.warn({ code: isHubError(err) ? err.code : "INTERNAL" }, "malformed frame");
        this.log.debug({ hex: hex(bytes) }, "malformed frame bytes");
        continue;
      }
      this.counters.discardedBytes += result.discarded;
      for (const event of result.events) {
        if (await this.handle(event)) continue;
        // Not stored, not answered: the session forgets this frame (and what followed it in these
        // bytes) so the device's re-sent copy is decoded again.
        event.rollback?.();
        break;
      }
    }
  }

  /** Stores an event's readings and answers the device; false when they could not be stored. */
  private async handle(event: SessionEvent): Promise<boolean> {
    if (event.error) {
      this.counters.malformedFrames++;
      this.log.warn({ code: event.error.code }, "frame refused");
    }
    if (event.deviceSerial) this.serial = event.deviceSerial;
    if (event.deviceClock && this.ctx.clock.isSynced()) {
      const deviceNow = zonedToInstant(event.deviceClock, this.ctx.config.hub.timeZone).epochMs;
      this.skewMs = deviceNow - this.ctx.clock.nowMs();
    }
    const now = this.ctx.clock.nowMs();
    const drafts: Array<{ draft: ReadingDraft; atMs: number }> = [];
    for (const draft of event.drafts) {
      if (this.driver.continuous) {
        const condensed = this.condenser.push(draft, now);
        if (condensed) drafts.push(condensed);
      } else drafts.push({ draft, atMs: now });
    }
    const stored = await this.store(drafts);
    // The device is answered only once its data is durable; otherwise it will send it again.
    if (event.reply && stored) await this.transport.write(event.reply);
    return stored;
  }

  private async flushCondenser(): Promise<void> {
    const last = this.condenser.flush(this.ctx.clock.nowMs());
    if (last) await this.store([last]);
  }

  private store(drafts: Array<{ draft: ReadingDraft; atMs: number }>): Promise<boolean> {
    const deviceId = this.serial ? `${this.driver.id}:${this.serial}` : `device:${this.device.id}`;
    return this.sink.store(drafts, deviceId, this.skewMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.sleeper.wake();
    await this.transport.close().catch(() => {});
    await this.loopDone;
  }
}
