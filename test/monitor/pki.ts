import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** An openssl-made CA, a broker certificate for 127.0.0.1/localhost, and client certificates by name. */
export interface Pki {
  caFile: string;
  server: { certFile: string; keyFile: string };
  client(name: string): { certFile: string; keyFile: string };
  /** A second CA the broker does not trust (for the refusal tests). */
  rogue: { caFile: string; client(name: string): { certFile: string; keyFile: string } };
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

function makeCa(dir: string, name: string): { caFile: string; keyFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const caFile = join(dir, `${name}.pem`);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile]);
  openssl(["req", "-x509", "-new", "-key", keyFile, "-subj", `/CN=${name}`, "-days", "2", "-out", caFile]);
  return { caFile, keyFile };
}

function issue(
  dir: string,
  ca: { caFile: string; keyFile: string },
  name: string,
  ext: string,
): { certFile: string; keyFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `${ext}\n`);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile]);
  openssl(["req", "-new", "-key", keyFile, "-subj", `/CN=${name}`, "-out", csr]);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.caFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    extFile,
    "-out",
    certFile,
  ]);
  return { certFile, keyFile };
}

export function makePki(dir: string): Pki {
  const ca = makeCa(dir, "test-ca");
  const rogueCa = makeCa(dir, "rogue-ca");
  const server = issue(
    dir,
    ca,
    "broker",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
  );
  const clients = new Map<string, { certFile: string; keyFile: string }>();
  const client = (name: string) => {
    let c = clients.get(name);
    if (!c) {
      c = issue(dir, ca, name, "extendedKeyUsage=clientAuth");
      clients.set(name, c);
    }
    return c;
  };
  return {
    caFile: ca.caFile,
    server,
    client,
    rogue: {
      caFile: rogueCa.caFile,
      client: (name) => issue(dir, rogueCa, `rogue-${name}`, "extendedKeyUsage=clientAuth"),
    },
  };
}

/** A mosquitto password file (mosquitto_passwd) for these users. */
export function passwordFile(dir: string, users: Record<string, string>): string {
  const file = join(dir, "passwords");
  writeFileSync(file, "", { mode: 0o600 });
  for (const [user, password] of Object.entries(users)) {
    execFileSync("mosquitto_passwd", ["-b", file, user, password], { stdio: "ignore" });
  }
  return file;
}
