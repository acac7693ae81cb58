import { DRIVER_IDS, driverById } from "../../../drivers/index.js";
import {
  type Answers,
  type DeviceAnswer,
  environmentOf,
  type PatientAnswer,
  PKB_ENVIRONMENTS,
  type PkbEnvironment,
} from "./answers.js";
import type { Prompter } from "./prompter.js";
import {
  checkBleAddress,
  checkBrokerUrl,
  checkDeviceId,
  checkDob,
  checkDriver,
  checkHttpsUrl,
  checkHubId,
  checkKey,
  checkName,
  checkNhsNumber,
  checkSerialPath,
  checkSex,
  checkTimeZone,
  parseUserSlots,
} from "./validate.js";

type Raw = Record<string, unknown>;

function obj(v: unknown): Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Raw) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

function list(v: unknown): Raw[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function yes(v: string): boolean {
  return /^y(es)?$/i.test(v);
}

const yesNo = (v: string) => (/^(y|yes|n|no)$/i.test(v) ? undefined : "answer y or n");

function oneOf(options: readonly string[]) {
  return (v: string) => (options.includes(v) ? undefined : `one of: ${options.join(", ")}`);
}

/** Only what differs from the existing value, so an unchanged answer changes nothing. */
function changed(answer: string, existing: string | undefined): string | undefined {
  return answer === "" || answer === existing ? undefined : answer;
}

async function askPatient(p: Prompter, key: string, existing: Raw, routes: string[]): Promise<PatientAnswer> {
  const route = await p.ask({
    label: `  route for ${key} (${routes.join(" or ")})`,
    default: str(existing.route) ?? routes[0] ?? "pkb-rest",
    validate: oneOf(routes),
  });
  const hl7 = route === "hl7";
  // The NHS number is the one check that the record PKB files readings in is this patient's.
  const nhsNumber = await p.ask({
    label: "  NHS number",
    default: str(existing.nhsNumber),
    validate: checkNhsNumber,
  });
  const firstName = await p.ask({
    label: "  first name",
    default: str(existing.firstName),
    validate: checkName,
    optional: !hl7,
  });
  const lastName = await p.ask({
    label: "  last name",
    default: str(existing.lastName),
    validate: checkName,
    optional: !hl7,
  });
  const dob = await p.ask({
    label: "  date of birth (YYYY-MM-DD)",
    default: str(existing.dob),
    validate: checkDob,
    optional: !hl7,
  });
  const sex = hl7
    ? await p.ask({ label: "  sex at birth (M, F, U)", default: str(existing.sex), validate: checkSex })
    : "";
  const answer: PatientAnswer = { key, route: route as "pkb-rest" | "hl7" };
  const set = <K extends keyof PatientAnswer>(k: K, v: string | undefined) => {
    if (v !== undefined) (answer as Record<string, unknown>)[k] = v;
  };
  set("nhsNumber", changed(nhsNumber, str(existing.nhsNumber)));
  set("firstName", changed(firstName, str(existing.firstName)));
  set("lastName", changed(lastName, str(existing.lastName)));
  set("dob", changed(dob, str(existing.dob)));
  set("sex", changed(sex, str(existing.sex)));
  return answer;
}

async function askDevice(p: Prompter, id: string, existing: Raw, patients: string[]): Promise<DeviceAnswer> {
  const driver = await p.ask({
    label: `  driver for ${id} (${DRIVER_IDS.join(", ")})`,
    default: str(existing.driver),
    validate: checkDriver,
  });
  const answer: DeviceAnswer = { id, driver };
  const ble = driverById(driver).matcher.transport === "ble";
  if (ble) {
    const address = await p.ask({
      label: "  Bluetooth address (AA:BB:CC:DD:EE:FF; pkb-hub devices scan lists them)",
      default: str(existing.bleAddress),
      validate: checkBleAddress,
      optional: true,
    });
    if (address !== "" && address !== str(existing.bleAddress)) answer.bleAddress = address;
  } else {
    const path = await p.ask({
      label: "  serial path (/dev/serial/by-id/…; Enter: found by its USB id)",
      default: str(existing.serialPath),
      validate: checkSerialPath,
      optional: true,
    });
    if (path !== "" && path !== str(existing.serialPath)) answer.serialPath = path;
  }
  const slotsNow = Object.entries(obj(existing.userSlots))
    .map(([s, k]) => `${s}=${String(k)}`)
    .join(",");
  const binding = await p.ask({
    label: `  patient (${patients.join(", ")}), or user slots SLOT=PATIENT,… for a shared device`,
    default: str(existing.patient) ?? (slotsNow || patients[0]),
    validate: (v) => {
      if (v.includes("=")) {
        const slots = parseUserSlots(v, patients);
        return typeof slots === "string" ? slots : undefined;
      }
      return patients.includes(v) ? undefined : `no patient '${v}' (patients: ${patients.join(", ")})`;
    },
  });
  if (binding.includes("=")) {
    if (binding !== slotsNow) answer.userSlots = parseUserSlots(binding, patients) as Record<string, string>;
  } else if (binding !== str(existing.patient)) answer.patient = binding;
  const interval = await p.ask({
    label: "  expected at least every N hours (Enter: no expectation)",
    default: str(existing.expectedIntervalHours),
    optional: true,
    validate: (v) =>
      Number(v) > 0 && Number(v) <= 2160 ? undefined : "a number of hours, more than 0, at most 2160",
  });
  if (interval !== "" && interval !== str(existing.expectedIntervalHours))
    answer.expectedIntervalHours = Number(interval);
  return answer;
}

/**
 * The interactive provisioning conversation: every question with the existing value as its default
 * (so re-running walks through the current settings and Enter keeps each one), every answer checked
 * as it is typed. Existing patients and devices are kept unless the technician says remove.
 */
export async function interview(p: Prompter, existing: unknown): Promise<Answers> {
  const raw = obj(existing);
  const hub = obj(raw.hub);
  const routes = obj(raw.routes);
  const rest = obj(routes.pkbRest);
  const answers: Answers = {};
  p.say("Hub");
  answers.hub = {
    id: await p.ask({ label: "  hub id", default: str(hub.id), validate: checkHubId }),
    timeZone: await p.ask({
      label: "  time zone",
      default: str(hub.timeZone) ?? "Europe/London",
      validate: checkTimeZone,
    }),
    dataDir: await p.ask({ label: "  data directory", default: str(hub.dataDir) ?? "/var/lib/pkb-hub" }),
  };

  p.say("Patients Know Best");
  const env = (await p.ask({
    label: "  environment (sandbox, production, custom)",
    default: environmentOf(rest.baseUrl) ?? "sandbox",
    validate: oneOf(["sandbox", "production", "custom"]),
  })) as PkbEnvironment;
  const baseUrl =
    env === "custom"
      ? await p.ask({ label: "  PKB base URL", default: str(rest.baseUrl), validate: checkHttpsUrl })
      : PKB_ENVIRONMENTS[env].baseUrl;
  const clientId = await p.ask({
    label: "  OAuth client id (REST route)",
    default: str(rest.clientId),
    optional: true,
  });
  if (clientId !== "") {
    const secret = await p.ask({
      label: "  OAuth client secret",
      secret: true,
      ...(str(rest.clientSecretFile) ? { default: "" } : {}),
    });
    answers.pkb = {
      environment: env,
      clientId,
      ...(env === "custom" ? { baseUrl } : {}),
      ...(secret ? { clientSecret: secret } : {}),
    };
  }
  const hl7Now = obj(routes.hl7);
  const useHl7 = await p.ask({
    label: "  send by HL7 (partner credentials)? (y/n)",
    default: routes.hl7 ? "y" : "n",
    validate: yesNo,
  });
  if (yes(useHl7)) {
    const envHl7 = env === "custom" ? undefined : PKB_ENVIRONMENTS[env].hl7Url;
    answers.hl7 = {
      url: await p.ask({
        label: "  HL7 endpoint URL",
        default: str(hl7Now.url) ?? envHl7,
        validate: checkHttpsUrl,
      }),
      username: await p.ask({ label: "  HL7 username", default: str(hl7Now.username) }),
      sendingFacility: await p.ask({
        label: "  sending facility (MSH-4 alias from PKB)",
        default: str(hl7Now.sendingFacility),
      }),
    };
    const password = await p.ask({
      label: "  HL7 password",
      secret: true,
      ...(str(hl7Now.passwordFile) ? { default: "" } : {}),
    });
    if (password) answers.hl7.password = password;
  } else if (routes.hl7) answers.hl7 = false;
  const routeNames = [
    ...(clientId !== "" || routes.pkbRest ? ["pkb-rest"] : []),
    ...(yes(useHl7) ? ["hl7"] : []),
  ];

  p.say("Patients");
  const patients: PatientAnswer[] = [];
  const removePatients: string[] = [];
  const keys: string[] = [];
  for (const existingPatient of list(raw.patients)) {
    const key = str(existingPatient.key) ?? "";
    const what = await p.ask({
      label: `  patient ${key}: keep, edit or remove?`,
      default: "keep",
      validate: oneOf(["keep", "edit", "remove"]),
    });
    if (what === "remove") removePatients.push(key);
    else keys.push(key);
    if (what === "edit") patients.push(await askPatient(p, key, existingPatient, routeNames));
  }
  while (
    yes(
      await p.ask({
        label: "  add a patient? (y/n)",
        default: keys.length === 0 ? "y" : "n",
        validate: yesNo,
      }),
    )
  ) {
    const key = await p.ask({
      label: "  patient key (local, never a name or NHS number, e.g. patient-a)",
      validate: (v) => checkKey(v) ?? (keys.includes(v) ? "that key is taken" : undefined),
    });
    keys.push(key);
    patients.push(await askPatient(p, key, {}, routeNames));
  }
  if (patients.length > 0) answers.patients = patients;
  if (removePatients.length > 0) answers.removePatients = removePatients;

  p.say("Devices");
  const devices: DeviceAnswer[] = [];
  const removeDevices: string[] = [];
  const ids: string[] = [];
  for (const d of list(raw.devices)) {
    const id = str(d.id) ?? "";
    const what = await p.ask({
      label: `  device ${id}: keep, edit or remove?`,
      default: "keep",
      validate: oneOf(["keep", "edit", "remove"]),
    });
    if (what === "remove") removeDevices.push(id);
    else ids.push(id);
    if (what === "edit") devices.push(await askDevice(p, id, d, keys));
  }
  while (yes(await p.ask({ label: "  add a device? (y/n)", default: "n", validate: yesNo }))) {
    const id = await p.ask({
      label: "  device id (e.g. bp-kitchen)",
      validate: (v) => checkDeviceId(v) ?? (ids.includes(v) ? "that id is taken" : undefined),
    });
    ids.push(id);
    devices.push(await askDevice(p, id, {}, keys));
  }
  if (devices.length > 0) answers.devices = devices;
  if (removeDevices.length > 0) answers.removeDevices = removeDevices;

  p.say("Fleet monitoring (MQTT)");
  const monitor = obj(obj(raw.monitor).mqtt);
  const useMqtt = await p.ask({
    label: "  report to an MQTT broker? (y/n)",
    default: raw.monitor && obj(raw.monitor).mqtt ? "y" : "n",
    validate: yesNo,
  });
  if (yes(useMqtt)) {
    answers.mqtt = {
      url: await p.ask({
        label: "  broker URL (mqtts://host:8883)",
        default: str(monitor.url),
        validate: checkBrokerUrl,
      }),
    };
    const username = await p.ask({
      label: "  broker username",
      default: str(monitor.username),
      optional: true,
    });
    if (username) answers.mqtt.username = username;
    if (username) {
      const password = await p.ask({
        label: "  broker password",
        secret: true,
        ...(str(monitor.passwordFile) ? { default: "" } : {}),
      });
      if (password) answers.mqtt.password = password;
    }
    const ca = await p.ask({
      label: "  CA certificate file (Enter: the system's CAs)",
      default: str(monitor.caFile),
      optional: true,
    });
    if (ca) answers.mqtt.caFile = ca;
  } else if (obj(raw.monitor).mqtt) answers.mqtt = false;
  return answers;
}
