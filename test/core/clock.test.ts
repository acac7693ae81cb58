import { describe, expect, it } from "vitest";
import { linuxSyncProbe, SystemClock } from "../../src/core/clock.js";

describe("clock synchronisation", () => {
  it("trusts the timesyncd marker file first", async () => {
    const probe = linuxSyncProbe(
      async () => {
        throw new Error("not called");
      },
      (p) => p === "/run/systemd/timesync/synchronized",
    );
    expect(await probe()).toBe(true);
  });

  it("falls back to timedatectl, and treats any failure as not synchronised", async () => {
    expect(
      await linuxSyncProbe(
        async () => "yes\n",
        () => false,
      )(),
    ).toBe(true);
    expect(
      await linuxSyncProbe(
        async () => "no\n",
        () => false,
      )(),
    ).toBe(false);
    const failing = linuxSyncProbe(
      async () => {
        throw new Error("System has not been booted with systemd");
      },
      () => false,
    );
    expect(await failing()).toBe(false);
  });

  it("reports changes of sync state once", async () => {
    let synced = false;
    const changes: boolean[] = [];
    const clock = new SystemClock({
      mode: "auto",
      probe: async () => synced,
      onSyncChange: (s) => changes.push(s),
    });
    await clock.refresh();
    expect(clock.isSynced()).toBe(false);
    synced = true;
    await clock.refresh();
    await clock.refresh();
    expect(clock.isSynced()).toBe(true);
    expect(changes).toEqual([true]);
    expect(clock.monotonicMs()).toBeGreaterThan(0);
  });
});
