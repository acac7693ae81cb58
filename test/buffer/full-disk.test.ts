import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { Lease, Outcome } from "../../src/buffer/outbox.js";
import type { FakeClock } from "../../src/core/clock.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { onSmallFs } from "../support/small-fs.js";

/** Ingests batches for both routes until the disk refuses three in a row (DISK_FULL). */
async function fillUntilFull(b: HubBuffer, c: FakeClock): Promise<number> {
  let stored = 0;
  let refusedInARow = 0;
  for (let i = 0; i < 2000 && refusedInARow < 3; i++) {
    const batch = Array.from({ length: 10 }, (_, n) =>
      bpReading(c, undefined, n % 2 === 0 ? "p1" : `hl7-${n % 3}`),
    );
    try {
      stored += (await b.ingest(batch)).stored;
      refusedInARow = 0;
    } catch (err) {
      expect(err).toMatchObject({ code: "DISK_FULL" });
      refusedInARow++;
    }
  }
  expect(refusedInARow).toBe(3);
  return stored;
}

describe("a full disk (a real tmpfs): every way of finishing a delivery still works", () => {
  it("retry, ambiguous and rejected completions, claimOrdered (HL7) and housekeeping all work on a full disk; nothing is lost", (ctx) =>
    onSmallFs(ctx, 1024 * 1024, 256 * 1024, async (dir, filler) => {
      const { buffer: b, clock } = makeBuffer(dir, { reserveBytes: 96 * 1024, retentionMs: 1000 });
      try {
        const stored = await fillUntilFull(b, clock);
        expect(stored).toBeGreaterThan(100);
        expect(b.activeAlerts().map((a) => a.code)).toContain("DISK_FULL");
        const complete = (lease: Lease, outcome: Outcome) =>
          b.outbox.complete(
            lease.token,
            lease.rows.map((r) => r.id),
            outcome,
          );
        const finish = (outcome: Outcome) => {
          const lease = b.outbox.claim("pkb-rest", 10);
          expect(lease.rows).toHaveLength(10);
          return complete(lease, outcome);
        };
        expect(finish({ kind: "retry", error: "HTTP 503" })).toBe(10);
        expect(finish({ kind: "retry", error: "timeout after sending", ambiguous: true })).toBe(10);
        expect(finish({ kind: "ambiguous", reason: "a 2xx without a readable answer" })).toBe(10);
        expect(finish({ kind: "rejected", reason: "refused by PKB" })).toBe(10);
        expect(finish({ kind: "delivered" })).toBe(10);
        // HL7: per-patient order on the full disk too.
        const ordered = b.outbox.claimOrdered("hl7", 5);
        expect(ordered.rows.length).toBeGreaterThan(0);
        expect(complete(ordered, { kind: "delivered" })).toBe(ordered.rows.length);
        const s = b.stats().byState;
        expect(s.dead).toBe(10);
        expect(s.ambiguous).toBeGreaterThanOrEqual(10);
        expect(s.delivered).toBe(10 + ordered.rows.length);
        // Housekeeping (reclaim, release, prune past retention) runs on the full disk and frees space.
        clock.advance(2000);
        const hk = await b.housekeeping();
        expect(hk.pruned).toBe(10 + ordered.rows.length);
        // Nothing stored was lost: every reading not pruned as delivered still has its row.
        expect(Object.values(b.stats().byState).reduce((x, y) => x + y, 0)).toBe(stored - hk.pruned);
        rmSync(filler);
        await b.ingest([bpReading(clock)]);
        expect(b.activeAlerts().map((a) => a.code)).not.toContain("DISK_FULL");
        expect(b.db.pragma("integrity_check", { simple: true })).toBe("ok");
      } finally {
        b.close();
      }
    }));
});
