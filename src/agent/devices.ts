import { HubError } from "../core/errors.js";
import { finishReading } from "../core/finish.js";
import type { ReadingDraft } from "../core/reading.js";
import type { AgentContext, Component } from "./context.js";

/**
 * Device sessions. Interim: simulated devices generate blood pressure drafts on a timer and go
 * through the same finish → ingest path real devices use. Real transports and drivers replace this.
 */
export function createDevices(ctx: AgentContext): Component[] {
  return ctx.config.devices.map((device) => {
    if (!device.simulate) {
      return {
        name: `device:${device.id}`,
        start: async () => {
          ctx.logger.warn({ device: device.id, driver: device.driver }, "no transport for this driver yet");
        },
        stop: async () => {},
      };
    }
    let timer: NodeJS.Timeout | undefined;
    let n = 0;
    const limit = Number(device.options.count ?? Number.POSITIVE_INFINITY);
    const everyMs = Number(device.options.intervalMs ?? 1000);
    const patient = device.patient;
    if (!patient) throw new HubError("CONFIG_INVALID", `simulated device ${device.id} needs a patient`);
    const tick = async () => {
      if (n >= limit) return;
      n++;
      const draft: ReadingDraft = {
        kind: "blood-pressure",
        components: [
          { id: "bp-systolic", value: 110 + (n % 30), unit: "mm[Hg]" },
          { id: "bp-diastolic", value: 70 + (n % 15), unit: "mm[Hg]" },
          { id: "pulse-rate", value: 60 + (n % 20), unit: "/min" },
        ],
        seq: n,
      };
      const reading = finishReading(draft, {
        deviceId: `sim:${device.id}`,
        driver: device.driver,
        patient,
        timeZone: ctx.config.hub.timeZone,
        clock: ctx.clock,
        receivedAtMs: ctx.clock.nowMs(),
      });
      try {
        await ctx.buffer.ingest([reading]);
        ctx.pokeRoutes();
      } catch (err) {
        ctx.logger.error({ err, device: device.id }, "reading not stored");
      }
    };
    return {
      name: `device:${device.id}`,
      start: async () => {
        timer = setInterval(() => void tick(), everyMs);
      },
      stop: async () => {
        if (timer) clearInterval(timer);
      },
    };
  });
}
