/** A fault as listed, or made from the random generator (to vary a detail such as the ACK variant). */
export type Drawn<F> = F | ((rand: () => number) => F);

/** Draws one of the weighted faults with `rand`. */
export function weighted<F>(
  list: ReadonlyArray<{ weight: number; fault: Drawn<F> }>,
  rand: () => number,
): () => F {
  const total = list.reduce((n, f) => n + f.weight, 0);
  return () => {
    let r = rand() * total;
    const chosen =
      list.find((f) => {
        r -= f.weight;
        return r < 0;
      }) ?? (list[0] as { fault: Drawn<F> });
    return typeof chosen.fault === "function"
      ? (chosen.fault as (rand: () => number) => F)(rand)
      : chosen.fault;
  };
}

/** A small deterministic generator (mulberry32), so a run can be repeated with `--seed`. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
