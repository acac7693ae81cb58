import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import {
  bootId,
  EARLIEST_PLAUSIBLE_MS,
  FakeClock,
  linuxSyncProbe,
  SystemClock,
} from "../../src/core/clock.js";
import { until } from "../support/wait.js";

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

describe("clock rules", () => {
  it("asks timedatectl for NTPSynchronized only", async () => {
    const calls: Array<[string, string[]]> = [];
    await linuxSyncProbe(
      async (cmd, args) => {
        calls.push([cmd, args]);
        return "  yes  ";
      },
      () => false,
    )();
    expect(calls).toEqual([["timedatectl", ["show", "-p", "NTPSynchronized", "--value"]]]);
  });

  it("a wall clock before 2025 is never synchronised, whatever the probe says", async () => {
    expect(EARLIEST_PLAUSIBLE_MS).toBe(Date.UTC(2025, 0, 1));
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(EARLIEST_PLAUSIBLE_MS - 1);
      const clock = new SystemClock({ mode: "assume-synced" });
      expect(await clock.refresh()).toBe(false);
      expect(clock.isSynced()).toBe(false);
      vi.setSystemTime(EARLIEST_PLAUSIBLE_MS);
      expect(clock.isSynced()).toBe(true);
      expect(clock.nowMs()).toBe(EARLIEST_PLAUSIBLE_MS);
    } finally {
      vi.useRealTimers();
    }
  });

  it("assume-synced never probes; auto probes on start and on its interval until stopped", async () => {
    let probes = 0;
    const trusting = new SystemClock({
      mode: "assume-synced",
      probe: async () => {
        probes++;
        return false;
      },
    });
    expect(await trusting.refresh()).toBe(true);
    expect(probes).toBe(0);

    const changes: boolean[] = [];
    let answer = true;
    const auto = new SystemClock({
      mode: "auto",
      probe: async () => {
        probes++;
        return answer;
      },
      onSyncChange: (s) => changes.push(s),
    });
    await auto.start(10);
    expect(probes).toBe(1);
    expect(auto.isSynced()).toBe(true);
    answer = false;
    await until(() => probes >= 3);
    expect(auto.isSynced()).toBe(false);
    auto.stop();
    const after = probes;
    await new Promise((r) => setTimeout(r, 50));
    expect(probes).toBe(after);
    expect(changes).toEqual([true, false]);
    auto.stop(); // stopping twice is harmless
  });

  it("the monotonic clock is CLOCK_MONOTONIC in whole milliseconds and never goes back", () => {
    const clock = new SystemClock({ mode: "assume-synced" });
    const a = clock.monotonicMs();
    const b = clock.monotonicMs();
    expect(Number.isInteger(a)).toBe(true);
    expect(b).toBeGreaterThanOrEqual(a);
    expect(Math.abs(a - Number(process.hrtime.bigint() / 1_000_000n))).toBeLessThan(1000);
  });

  it("the boot id is this machine's boot_id, the same for every clock", () => {
    const id = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    expect(bootId()).toBe(id);
    expect(new SystemClock({ mode: "auto" }).bootId).toBe(id);
  });

  it("the fake clock advances wall and monotonic time together", () => {
    const c = new FakeClock();
    expect(c.nowMs()).toBe(Date.UTC(2026, 10, 24, 12, 0, 0));
    expect(c.monotonicMs()).toBe(1_000_000);
    expect(c.isSynced()).toBe(true);
    expect(c.bootId).toBe("test-boot");
    c.advance(1500);
    expect(c.nowMs()).toBe(Date.UTC(2026, 10, 24, 12, 0, 1, 500));
    expect(c.monotonicMs()).toBe(1_001_500);
  });
});

describe("clock refresh never rejects", () => {
  it("a probe that throws counts as not synchronised; a listener that throws is reported, not raised", async () => {
    let fail = false;
    const reported: unknown[] = [];
    const boom = new Error("listener broke");
    const clock = new SystemClock({
      mode: "auto",
      probe: async () => {
        if (fail) throw new Error("timedatectl vanished");
        return true;
      },
      onSyncChange: () => {
        throw boom;
      },
      onListenerError: (err) => reported.push(err),
    });
    expect(await clock.refresh()).toBe(true);
    expect(reported).toEqual([boom]);
    fail = true;
    expect(await clock.refresh()).toBe(false);
    expect(clock.isSynced()).toBe(false);
    expect(reported).toEqual([boom, boom]);
    // Without an error listener the throw is still swallowed.
    const quiet = new SystemClock({
      mode: "assume-synced",
      onSyncChange: () => {
        throw boom;
      },
    });
    expect(await quiet.refresh()).toBe(true);
  });
});
