import { describe, expect, it } from "vitest";
import { Sleeper } from "../../src/core/sleeper.js";

describe("Sleeper", () => {
  it("sleeps the time it is given", async () => {
    const s = new Sleeper();
    const t0 = performance.now();
    await s.sleep(60);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it("wake() ends a long sleep at once; a wake with nobody asleep does nothing", async () => {
    const s = new Sleeper();
    s.wake();
    const t0 = performance.now();
    const sleeping = s.sleep(60_000);
    setTimeout(() => s.wake(), 20);
    await sleeping;
    expect(performance.now() - t0).toBeLessThan(5_000);
    // The finished sleep no longer answers a wake: the next sleep runs its full time.
    s.wake();
    const t1 = performance.now();
    await s.sleep(40);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(35);
  });
});
