import type { Command } from "../io.js";
import { configCheck, configSchemaCmd } from "./config.js";
import { decode } from "./decode.js";
import { devicesScan } from "./devices.js";
import { devicesPair } from "./devices-pair.js";
import { doctor } from "./doctor.js";
import { fleetSchema, fleetWatch } from "./fleet.js";
import { link } from "./link.js";
import { outboxList, outboxResolve, outboxRetry } from "./outbox.js";
import { provision } from "./provision.js";
import { run } from "./run.js";
import { status } from "./status.js";

/** Every command of `pkb-hub`. Add new commands here. */
export const COMMANDS: Command[] = [
  run,
  configCheck,
  configSchemaCmd,
  provision,
  outboxList,
  outboxRetry,
  outboxResolve,
  decode,
  devicesScan,
  devicesPair,
  link,
  status,
  doctor,
  fleetWatch,
  fleetSchema,
];
