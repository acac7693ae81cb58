import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HubError } from "../../core/errors.js";
import { type SecretBox, writeFileAtomic } from "../../core/secrets.js";

export type LinkState = "linked" | "relink-needed";

/** What the hub keeps per linked patient. Encrypted at rest; never logged. */
export interface PatientLink {
  state: LinkState;
  accessToken: string;
  refreshToken?: string;
  /** Access token expiry, epoch ms. */
  expiresAtMs: number;
  pkbId: string;
  nhsNumber?: string;
  linkedAtMs: number;
}

/** One sealed file per patient under <dataDir>/links/, written atomically and durably. */
export class TokenStore {
  constructor(
    private readonly dir: string,
    private readonly box: SecretBox,
  ) {}

  private file(patient: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(patient)) throw new HubError("USAGE", "invalid patient key");
    return join(this.dir, `${patient}.link`);
  }

  get(patient: string): PatientLink | undefined {
    const file = this.file(patient);
    if (!existsSync(file)) return undefined;
    const plain = this.box.open(readFileSync(file, "utf8"));
    try {
      return JSON.parse(plain) as PatientLink;
    } catch {
      throw new HubError("SECRET_UNREADABLE", `link file of patient ${patient} is not a valid link`);
    }
  }

  /** Durable before it returns: a rotated refresh token is never only in memory. */
  put(patient: string, link: PatientLink): void {
    writeFileAtomic(this.file(patient), this.box.seal(JSON.stringify(link)));
  }

  state(patient: string): LinkState | "unlinked" {
    return this.get(patient)?.state ?? "unlinked";
  }
}
