/** Lets timers, I/O and other callbacks run between two chunks of database work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `step` (one short transaction over at most a chunk of rows, returning how many it handled)
 * until it handles none, yielding to the event loop between steps: a large backlog never blocks
 * ingest, delivery or the watchdog for longer than one chunk. Returns the total handled.
 */
export async function inChunks(step: () => number, maxSteps = Number.MAX_SAFE_INTEGER): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxSteps; i++) {
    const n = step();
    if (n === 0) break;
    total += n;
    await yieldToEventLoop();
  }
  return total;
}
