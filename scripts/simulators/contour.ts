import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { SerialPort } from "serialport";
import { ACK, buildFrame, ENQ, EOT, NAK } from "../../drivers/contour-serial/astm.js";

export interface ContourSimOptions {
  /** The device end of a pty pair. */
  path: string;
  records: number;
  serial?: string;
  /** Wall time of the first record; one record per 5 minutes after it. */
  firstRecordMs?: number;
  /** Meter clock offset from real time (meters are often wrong), ms. */
  clockOffsetMs?: number;
  ackTimeoutMs?: number;
  /** Pause before each frame, like a slow meter. */
  frameDelayMs?: number;
  /**
   * The meter's memory (a JSON file): a real meter keeps its records and sends the same ones on
   * every download, so a restarted simulator must too — otherwise every restart makes new readings
   * and duplicate suppression can never be seen. Written on first use; `firstRecordMs` overrides it.
   */
  memoryFile?: string;
  /** The meter's clock (injected in tests); Date.now by default. */
  now?: () => number;
  /**
   * Told each time a record frame (1-based record number) is answered: ACK (stored by the hub) or
   * not (NAK or no answer: refused, the meter sends it again). Chaos runs count acknowledgements.
   */
  onRecord?: (record: number, acked: boolean) => void;
}

interface MeterMemory {
  firstRecordMs: number;
  serial: string;
}

/** The meter's fixed memory: read from `file`, or made once (durably, atomically) and kept. */
export function meterMemory(file: string | undefined, fresh: MeterMemory): MeterMemory {
  if (!file) return fresh;
  if (existsSync(file)) {
    const m = JSON.parse(readFileSync(file, "utf8")) as Partial<MeterMemory>;
    if (typeof m.firstRecordMs === "number" && typeof m.serial === "string")
      return { firstRecordMs: m.firstRecordMs, serial: m.serial };
  }
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(fresh)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return fresh;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");
/** Local wall time as the meter writes it (the simulator's own zone: the process TZ). */
function astmTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}`;
}

export function contourRecords(
  o: Required<Pick<ContourSimOptions, "records" | "serial" | "firstRecordMs" | "clockOffsetMs">> & {
    nowMs?: number;
  },
): string[] {
  const now = (o.nowMs ?? Date.now()) + o.clockOffsetMs;
  const header = `H|\\^&||qvqOi8|Bayer7390^01.24\\01.04\\04.02.19^${o.serial}^7403-|A=1^C=21^G=en,en\\de\\fr^I=0200^R=0^S=01^U=311^V=20600^X=070070070070180130150250070130^Y=120054252099^Z=1|${o.records}||||||P|1|${astmTime(now)}`;
  const lines = [header, "P|1"];
  for (let i = 0; i < o.records; i++) {
    const value = 90 + ((i * 37) % 120);
    const marker = i % 3 === 0 ? "B" : i % 3 === 1 ? "A" : "";
    lines.push(
      `R|${i + 1}|^^^Glucose|${value}|mg/dL^P||${marker}||${astmTime(o.firstRecordMs + i * 300_000)}`,
    );
  }
  lines.push("L|1||N");
  return lines;
}

/**
 * Plays a Contour-family meter's record download over a serial port: ENQ, then one frame per
 * record, each re-sent on NAK or when no ACK comes, then EOT. Resolves with the records acknowledged.
 */
export async function runContourMeter(
  options: ContourSimOptions,
): Promise<{ acked: number; resent: number }> {
  const port = new SerialPort({ path: options.path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const replies: number[] = [];
  let wake: (() => void) | undefined;
  let unplugged = false;
  const pull = () => {
    unplugged = true;
    wake?.();
  };
  port.on("close", pull);
  port.on("error", pull);
  port.on("data", (chunk: Buffer) => {
    replies.push(...chunk);
    wake?.();
  });
  const waitReply = async (timeoutMs: number): Promise<number | undefined> => {
    if (unplugged) throw new Error("meter unplugged");
    if (replies.length === 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
    if (!existsSync(options.path)) unplugged = true;
    if (unplugged) throw new Error("meter unplugged");
    return replies.shift();
  };
  const send = (bytes: Uint8Array) =>
    new Promise<void>((resolve) => port.write(Buffer.from(bytes), () => port.drain(() => resolve())));
  const nowMs = (options.now ?? Date.now)();
  const memory = meterMemory(options.firstRecordMs === undefined ? options.memoryFile : undefined, {
    // Whole minutes: the meter writes minutes, and a memory is what the meter could have written.
    firstRecordMs: Math.floor((nowMs - options.records * 300_000) / 60_000) * 60_000,
    serial: options.serial ?? "7390-1234567",
  });
  const lines = contourRecords({
    records: options.records,
    serial: options.serial ?? memory.serial,
    firstRecordMs: options.firstRecordMs ?? memory.firstRecordMs,
    clockOffsetMs: options.clockOffsetMs ?? 0,
    nowMs,
  });
  const timeout = options.ackTimeoutMs ?? 3000;
  let acked = 0;
  let resent = 0;
  try {
    for (let tries = 0; ; tries++) {
      await send(Uint8Array.of(ENQ));
      if ((await waitReply(timeout)) === ACK) break;
      if (tries > 20) throw new Error("the hub never answered ENQ");
    }
    for (const [i, line] of lines.entries()) {
      const frame = buildFrame((i + 1) % 8, `${line}\r`);
      for (let tries = 0; ; tries++) {
        if (options.frameDelayMs) await new Promise((r) => setTimeout(r, options.frameDelayMs));
        await send(frame);
        const reply = await waitReply(timeout);
        const record = line.startsWith("R|") ? Number(line.split("|")[1]) : 0;
        if (record > 0 && (reply === ACK || reply === NAK || reply === undefined))
          options.onRecord?.(record, reply === ACK);
        if (reply === ACK) break;
        if (reply !== NAK && reply !== undefined) continue;
        resent++;
        if (tries > 20) throw new Error("the hub keeps refusing a frame");
      }
      if (line.startsWith("R|")) acked++;
    }
    await send(Uint8Array.of(EOT));
  } finally {
    await new Promise<void>((resolve) => {
      if (!port.isOpen) return resolve();
      const t = setTimeout(resolve, 1000); // closing a dead pty may never call back
      port.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  return { acked, resent };
}
