/**
 * Child process for the crash test: ingests readings as fast as a busy hub would, printing
 * "ACK <key>" for every reading only after ingest resolved (i.e. it is durable). The parent
 * SIGKILLs this process at a random moment.
 */
import { join } from "node:path";
import { HubBuffer } from "../../src/buffer/buffer.js";
import { SystemClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";

const [dir, tag] = process.argv.slice(2) as [string, string];
const clock = new SystemClock({ mode: "assume-synced" });
await clock.refresh();
const buffer = new HubBuffer({
  file: join(dir, "buffer.db"),
  clock,
  logger: silentLogger(),
  routeOf: () => "pkb-rest",
  maxSizeBytes: 1024 ** 3,
  retentionMs: 86_400_000,
  maxAttempts: 10,
  backoffBaseMs: 1000,
  backoffMaxMs: 10_000,
  leaseMs: 30_000,
  groupCommitMs: 1,
});
let n = 0;
async function device(id: number): Promise<void> {
  for (;;) {
    const size = 1 + Math.floor(Math.random() * 10);
    const readings = Array.from({ length: size }, () =>
      finishReading(
        {
          kind: "spo2",
          components: [{ id: "spo2", value: 90 + (n % 10), unit: "%" }],
          seq: n++,
        },
        {
          deviceId: `${tag}-dev-${id}`,
          driver: "crash",
          patient: "p1",
          timeZone: "UTC",
          clock,
          receivedAtMs: Date.now(),
        },
      ),
    );
    await buffer.ingest(readings);
    process.stdout.write(readings.map((r) => `ACK ${r.key}\n`).join(""));
  }
}
process.stdout.write("READY\n");
await Promise.all([device(1), device(2), device(3)]);
