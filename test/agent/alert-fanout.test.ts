import { describe, expect, it } from "vitest";
import { AlertFanout } from "../../src/agent/alert-fanout.js";
import type { Alert } from "../../src/buffer/alerts.js";

const alert = (code: string, raisedMs = 0): Alert => ({ code, message: `${code} message`, raisedMs });

describe("AlertFanout", () => {
  it("the first listener gets the alerts kept from before the run, then every change since the buffer opened, each once", () => {
    const fanout = new AlertFanout(() => {});
    fanout.emit(alert("BUFFER_CORRUPT", 5), true);
    fanout.emit(alert("BUFFER_REPAIRED", 6), true);
    fanout.emit(alert("BUFFER_REPAIRED", 6), false);
    const seen: string[] = [];
    // DEAD_LETTERS is active from the last run (loaded from the database); BUFFER_CORRUPT is in the backlog.
    fanout.subscribe(
      (a, active) => seen.push(`${active ? "+" : "-"}${a.code}`),
      () => [alert("BUFFER_CORRUPT", 5), alert("DEAD_LETTERS", 1)],
    );
    expect(seen).toEqual(["+DEAD_LETTERS", "+BUFFER_CORRUPT", "+BUFFER_REPAIRED", "-BUFFER_REPAIRED"]);
    fanout.emit(alert("DISK_FULL"), true);
    expect(seen.at(-1)).toBe("+DISK_FULL");
    expect(seen).toHaveLength(5);
    // A second listener gets changes from when it subscribes only.
    const later: string[] = [];
    fanout.subscribe(
      (a) => later.push(a.code),
      () => [alert("DISK_FULL")],
    );
    expect(later).toEqual([]);
  });

  it("a listener that throws breaks neither the raiser nor the other listeners; the backlog is bounded", () => {
    const errors: unknown[] = [];
    const fanout = new AlertFanout((err) => errors.push(err));
    for (let i = 0; i < 300; i++) fanout.emit(alert(`X${i}`), true);
    expect(fanout.droppedBeforeListener).toBe(44);
    const seen: string[] = [];
    fanout.subscribe(
      () => {
        throw new Error("boom");
      },
      () => [],
    );
    fanout.subscribe(
      (a) => seen.push(a.code),
      () => [],
    );
    expect(() => fanout.emit(alert("DISK_FULL"), true)).not.toThrow();
    expect(seen).toEqual(["DISK_FULL"]);
    expect(errors).toHaveLength(257);
  });
});
