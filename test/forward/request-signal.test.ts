import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { requestSignal } from "../../src/forward/request-signal.js";

/** How many signals Node keeps listed as following `signal` (what AbortSignal.any adds to). */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.toString() === "Symbol(kDependantSignals)");
  const set = key ? (signal as unknown as Record<symbol, Set<unknown> | undefined>)[key] : undefined;
  return set?.size ?? 0;
}

describe("a request's signal", () => {
  it("1000 requests leave nothing attached to the route's long-lived stop signal (AbortSignal.any would list 1000)", () => {
    // (On Node 20, AbortSignal.any([stop.signal, AbortSignal.timeout(ms)]) in this loop leaves 1000 dependants.)
    const stop = new AbortController();
    for (let i = 0; i < 1000; i++) requestSignal(stop.signal, 60_000).release();
    expect({
      dependants: dependants(stop.signal),
      listeners: getEventListeners(stop.signal, "abort").length,
    }).toEqual({ dependants: 0, listeners: 0 });
  });

  it("aborts when the route stops, or when its time is up (and says which)", async () => {
    const stop = new AbortController();
    const a = requestSignal(stop.signal, 60_000);
    stop.abort();
    expect([a.signal.aborted, a.timedOut()]).toEqual([true, false]);
    a.release();
    const b = requestSignal(new AbortController().signal, 20);
    await new Promise((r) => setTimeout(r, 60));
    expect([b.signal.aborted, b.timedOut(), (b.signal.reason as DOMException).name]).toEqual([
      true,
      true,
      "TimeoutError",
    ]);
    b.release();
    const stopped = new AbortController();
    stopped.abort();
    expect(requestSignal(stopped.signal, 60_000).signal.aborted).toBe(true);
  });
});
