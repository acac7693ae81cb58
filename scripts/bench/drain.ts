import { loadavg } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Agent } from "../../src/agent/agent.js";
import { createLogger } from "../../src/core/log.js";
import { tempDir } from "../../test/support/tmp.js";
import { drained, lastDeliveredMs, outboxStates, seedBacklog, storedReadings } from "./backlog.js";
import { cpuSeconds, flags, intFlag, report, round } from "./common.js";
import { hl7Drain } from "./drain-hl7.js";
import { restDrain } from "./drain-rest.js";
import { BENCH_PATIENT } from "./drain-setup.js";

/**
 * `npm run bench -- drain --route rest|hl7 [--readings 100000] [--latency-ms 20] [--concurrency 8]`:
 * a stored backlog drained by the real agent (buffer, DeliveryLoop, the route's forwarder, its log)
 * into the stand-in; then a minimal client sends the same requests with the same concurrency to a
 * stand-in with the same added latency. ratio = ideal time / agent time.
 */
export async function benchDrain(args: string[]): Promise<void> {
  const f = flags(args);
  const route = f.get("route") ?? "rest";
  if (route !== "rest" && route !== "hl7") throw new Error("--route must be rest or hl7");
  const readings = intFlag(f, "readings", 100_000);
  const latencyMs = intFlag(f, "latency-ms", 20);
  const tmp = tempDir("pkb-hub-bench-");
  const setup =
    route === "rest"
      ? await restDrain(tmp.dir, latencyMs, intFlag(f, "concurrency", 8))
      : await hl7Drain(tmp.dir, latencyMs);
  try {
    const { config } = setup;
    await seedBacklog(config, BENCH_PATIENT, readings);
    const logFile = join(tmp.dir, "agent.log");
    const logger = createLogger({
      level: config.log.level,
      destination: pino.destination({ dest: logFile, sync: false }),
    });
    const agent = new Agent({ config, logger });
    const before = setup.requests();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    mark("agent");
    await agent.start();
    await drained(config);
    const requests = setup.requests() - before;
    await agent.stop();
    const agentCpu = cpuSeconds(cpu0);
    const agentS = (lastDeliveredMs(config) - t0) / 1000;
    const states = outboxStates(config);
    if ((states.delivered ?? 0) !== readings) throw new Error(`not all delivered: ${JSON.stringify(states)}`);
    const ideal = await setup.prepareIdeal(storedReadings(config));
    mark("ideal");
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    await ideal.run();
    const idealS = (performance.now() - t1) / 1000;
    const idealCpu = cpuSeconds(cpu1);
    mark("end");
    report(
      "BENCH",
      "drain",
      {
        route,
        readings,
        agent_s: round(agentS),
        ideal_s: round(idealS),
        ratio: round(idealS / agentS),
        requests,
        readings_per_s: Math.round(readings / agentS),
        // CPU of the whole process (the stand-in included) in each phase: on a loaded machine the
        // drain is CPU-bound rather than latency-bound, and these show why.
        agent_cpu_s: round(agentCpu),
        ideal_cpu_s: round(idealCpu),
        concurrency: setup.concurrency,
      },
      { latencyMs, idealRequests: ideal.requests, states, loadavg: loadavg() },
    );
  } finally {
    await setup.stop();
    tmp.cleanup();
  }
}

/** Phase marks for profiling (`BENCH_MARKS=1`): monotonic µs, as in a --cpu-prof profile. */
function mark(phase: string): void {
  if (process.env.BENCH_MARKS)
    process.stderr.write(`mark ${phase} ${Number(process.hrtime.bigint() / 1000n)}\n`);
}
