import { FakeCharacteristic, FakePeripheral } from "./ble-fake-noble.js";

/** A glucose record as the meter indicates it: flags 02 (concentration, kg/L), seq, time, SFLOAT mg/dL×1e-5, finger. */
export function glucoseRecord(seq: number, mgdl: number): Uint8Array {
  const sfloat = (0xb << 12) | (mgdl & 0x0fff); // exponent -5: kg/L
  return Uint8Array.of(
    0x02,
    seq & 0xff,
    seq >> 8,
    0xea,
    0x07,
    11,
    20,
    8,
    seq % 60,
    0,
    sfloat & 0xff,
    sfloat >> 8,
    0x11,
  );
}

/**
 * A scripted BLE glucose meter: stores `records`, answers RACP "all" and "greater or equal to seq",
 * and can be told to drop the link after sending some records.
 */
export function glucoseMeter(address: string, records: Array<{ seq: number; mgdl: number }>) {
  const measurement = new FakeCharacteristic("2a18", ["notify"]);
  const racp = new FakeCharacteristic("2a52", ["write", "indicate"]);
  const peripheral = new FakePeripheral(address, ["1808"], [measurement, racp], "Meter");
  const script = { dropAfter: undefined as number | undefined, requests: [] as number[][] };
  racp.onWrite = (data) => {
    const bytes = [...data];
    script.requests.push(bytes);
    const from = bytes[1] === 0x03 ? (bytes[3] as number) | ((bytes[4] as number) << 8) : 0;
    const toSend = records.filter((r) => r.seq >= from);
    let sent = 0;
    for (const r of toSend) {
      if (script.dropAfter !== undefined && sent >= script.dropAfter) {
        script.dropAfter = undefined;
        peripheral.dropLink();
        return;
      }
      measurement.notify(glucoseRecord(r.seq, r.mgdl));
      sent++;
    }
    racp.notify(Uint8Array.of(0x06, 0x00, 0x01, toSend.length === 0 ? 0x06 : 0x01));
  };
  return { peripheral, script };
}
