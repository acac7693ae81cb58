import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { HubError } from "../../src/core/errors.js";

export interface PtyPair {
  /** The device's end (the simulator writes here). */
  deviceEnd: string;
  /** The hub's end (the serial transport opens this, like /dev/serial/by-id/…). */
  hubEnd: string;
  /** Kills socat: both ends vanish, like a USB device being unplugged. */
  stop(): Promise<void>;
}

/** A real pseudo-terminal pair from socat, so tests and the demo use real serial ports. */
export async function startPtyPair(deviceEnd: string, hubEnd: string, timeoutMs = 5000): Promise<PtyPair> {
  // Links left by a socat that died with a killed agent would make the new one fail.
  for (const link of [deviceEnd, hubEnd]) rmSync(link, { force: true });
  const child: ChildProcess = spawn(
    "socat",
    [`pty,raw,echo=0,link=${deviceEnd}`, `pty,raw,echo=0,link=${hubEnd}`],
    { stdio: "ignore" },
  );
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.on("error", (err) =>
      reject(new HubError("TRANSPORT_OPEN_FAILED", "cannot run socat (is it installed?)", { cause: err })),
    ),
  );
  const ready = (async () => {
    const end = Date.now() + timeoutMs;
    while (!(existsSync(deviceEnd) && existsSync(hubEnd))) {
      if (exited || Date.now() > end)
        throw new HubError("TRANSPORT_OPEN_FAILED", "socat did not create the pty pair");
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await Promise.race([ready, spawnError]);
  return {
    deviceEnd,
    hubEnd,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
