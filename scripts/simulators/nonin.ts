import { SerialPort } from "serialport";
import { FRAMES_PER_PACKET } from "../../drivers/nonin-serial/index.js";

export interface NoninSimOptions {
  path: string;
  /** How many 1/3-second packets to send (75 frames a second on a real oximeter). */
  packets: number;
  /** Pace: packets per second (3 on a real device; faster in tests). */
  packetsPerSec?: number;
  spo2?: number;
  heartRate?: number;
}

/** One packet of Nonin format #2: 25 frames `01 status pleth data checksum`, SYNC on frame 1. */
export function noninPacket(spo2: number, heartRate: number, pleth = 0): Uint8Array {
  const out: number[] = [];
  for (let f = 0; f < FRAMES_PER_PACKET; f++) {
    const status = 0x80 | 0x02 | (f === 0 ? 0x01 : 0); // green perfusion
    const data = f === 0 ? (heartRate >> 7) & 0x03 : f === 1 ? heartRate & 0x7f : f === 2 ? spo2 & 0x7f : 0;
    const wave = (pleth + f * 7) & 0xff;
    out.push(0x01, status, wave, data, (0x01 + status + wave + data) & 0xff);
  }
  return Uint8Array.from(out);
}

/** A continuous pulse oximeter streaming into a serial port. Resolves with the packets written. */
export async function runNoninOximeter(o: NoninSimOptions): Promise<number> {
  const port = new SerialPort({ path: o.path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const pause = 1000 / (o.packetsPerSec ?? 3);
  let sent = 0;
  let unplugged = false;
  // The other end vanishing (cable pulled, socat stopped) surfaces as an error event: stop streaming.
  port.on("error", () => {
    unplugged = true;
  });
  port.on("close", () => {
    unplugged = true;
  });
  try {
    for (; sent < o.packets && !unplugged; sent++) {
      const spo2 = (o.spo2 ?? 97) + (sent % 3) - 1;
      const hr = (o.heartRate ?? 72) + (sent % 5) - 2;
      await new Promise<void>((resolve) =>
        port.write(Buffer.from(noninPacket(spo2, hr, sent)), () => resolve()),
      );
      await new Promise((r) => setTimeout(r, pause));
    }
  } finally {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      port.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  return sent;
}

export interface OximeterOutlookInput {
  packets: number;
  packetsPerSec: number;
  /** The device's condensing policy (options condenseWindowSec, condenseMinSamples). */
  windowSec: number;
  minSamples: number;
}

/**
 * What a simulated stream will turn into, in words, so a demo or test that gets no reading says
 * why. The hub makes one reading per window (closed by the first sample after it, or at
 * disconnect) holding at least `minSamples` samples; a simulator's stream that stops leaves the
 * port open, so its last window closes only when the device stops.
 */
export function oximeterOutlook(o: OximeterOutlookInput): { readings: boolean; text: string } {
  const seconds = o.packets / o.packetsPerSec;
  const perWindow = Math.floor(o.windowSec * o.packetsPerSec);
  const settings = `condenseWindowSec=${o.windowSec}, condenseMinSamples=${o.minSamples}`;
  if (o.packets < o.minSamples)
    return {
      readings: false,
      text: `no reading: ${o.packets} packet(s) are fewer than the ${o.minSamples} samples one reading needs (${settings}); set options.packets ≥ ${o.minSamples}`,
    };
  if (perWindow < o.minSamples && seconds >= o.windowSec)
    return {
      readings: false,
      text: `no reading: at ${o.packetsPerSec} packet(s)/s a ${o.windowSec} s window holds ${perWindow} sample(s), fewer than ${o.minSamples} (${settings}); raise packetsPerSec or condenseWindowSec, or lower condenseMinSamples`,
    };
  if (seconds < o.windowSec)
    return {
      readings: true,
      text: `one reading, stored when the device stops: the ${seconds} s stream ends inside the first ${o.windowSec} s window (${settings}); set options.packets ≥ ${Math.ceil(o.windowSec * o.packetsPerSec) + 1} for readings while it streams`,
    };
  return {
    readings: true,
    text: `about ${Math.floor(seconds / o.windowSec)} reading(s) while it streams, one per ${o.windowSec} s window, and one more when the device stops if the last window holds ${o.minSamples} samples`,
  };
}
