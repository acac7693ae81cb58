import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { HubError, messageOf } from "../../core/errors.js";
import { type SecretBox, writeFileAtomic } from "../../core/secrets.js";

export type LinkState = "linked" | "relink-needed";

/** What the hub keeps per linked patient. Encrypted at rest; never logged. */
export interface PatientLink {
  /** The local patient key the link was made for (bound as associated data when sealed, with the PKB account). */
  patient?: string;
  state: LinkState;
  accessToken: string;
  refreshToken?: string;
  /** Access token expiry, epoch ms. */
  expiresAtMs: number;
  /** The access token's lifetime as PKB gave it (expires_in), so refresh-ahead can be clamped to it. */
  lifetimeMs?: number;
  pkbId: string;
  nhsNumber?: string;
  linkedAtMs: number;
  /**
   * Linked although the hub could not check the account is this patient's (no NHS number in the
   * configuration): `pkb-hub link --accept-unverified`, a technician's explicit decision.
   */
  acceptedUnverified?: true;
  /** Linked although another local patient uses the same PKB account (`--shared-account`). */
  sharedAccount?: true;
  /**
   * Read from a file of an older pkb-hub, not bound to its patient (anyone's file could sit in its
   * place): never stored, used only when the configured NHS number verifies it, then re-sealed bound.
   */
  unbound?: true;
}

/** Associated data of a link sealed before v3: bound to the patient only (still read; written as v3 next time). */
function linkContextV2(patient: string): string {
  return `pkb-hub link v2\npatient=${patient}`;
}

/**
 * Associated data of a sealed link (v3): the file opens only as this patient's link to this PKB
 * account. The account is named by a digest (no PKB id in clear), which heads the file so the
 * reader can bind it before opening; the id inside must match it.
 */
function linkContext(patient: string, account: string): string {
  return `pkb-hub link v3\npatient=${patient}\naccount=${account}`;
}

/** Names a PKB account in a link file's header (base64url, 22 characters). */
export function accountTag(pkbId: string): string {
  return createHash("sha256").update(`pkb-hub account\n${pkbId}`).digest("base64url").slice(0, 22);
}

const V3 = "link3";

const LINK_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

interface Cached {
  stamp: string;
  link: PatientLink;
}

/**
 * One sealed file per patient under <dataDir>/links/, written atomically and durably. Reads are
 * cached by the file's identity (inode, size, mtime), so the forwarder may ask for every reading
 * and still see at once a link that `pkb-hub link` wrote from another process.
 */
export class TokenStore {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly dir: string,
    private readonly box: SecretBox,
    /**
     * Called when a write finds the disk full (ENOSPC): frees space held back for delivery (the
     * buffer's reserve) and says whether it freed any, in which case the write is tried once more.
     * A rotated refresh token is delivery's business: losing it costs the patient their link.
     */
    private readonly makeRoom: () => boolean = () => false,
  ) {}

  private file(patient: string): string {
    if (!LINK_KEY.test(patient)) throw new HubError("USAGE", "invalid patient key");
    return join(this.dir, `${patient}.link`);
  }

  private stamp(file: string): string | undefined {
    const st = statSync(file, { throwIfNoEntry: false });
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : undefined;
  }

  /** The local patients that have a link file (readable or not). */
  patients(): string[] {
    if (!existsSync(this.dir)) return [];
    const names = readdirSync(this.dir, { withFileTypes: true, encoding: "utf8" }).filter(
      (e) => e.isFile() && e.name.endsWith(".link"),
    );
    return names.map((e) => e.name.slice(0, -".link".length)).filter((k) => LINK_KEY.test(k));
  }

  get(patient: string): PatientLink | undefined {
    const file = this.file(patient);
    const stamp = this.stamp(file);
    if (stamp === undefined) {
      this.cache.delete(patient);
      return undefined;
    }
    const cached = this.cache.get(patient);
    if (cached?.stamp === stamp) return cached.link;
    const link = this.read(patient, file);
    this.cache.set(patient, { stamp, link });
    return link;
  }

  /**
   * Opens a link file, bound to its patient: a file copied from another patient's place (or sealed
   * with another key, or damaged) is refused with SECRET_UNREADABLE naming the file and why, which
   * the relink alert shows.
   */
  private read(patient: string, file: string): PatientLink {
    const refuse = (why: string, cause?: unknown) =>
      new HubError("SECRET_UNREADABLE", `link file ${file} cannot be used: ${why}`, { cause });
    let plain: string;
    let legacy = false;
    let account: string | undefined;
    try {
      const sealed = readFileSync(file, "utf8").trim();
      // Written before links were bound to their patient: opened, but marked unbound (below).
      legacy = sealed.startsWith("v1.");
      if (sealed.startsWith(`${V3}.`)) {
        const [, tag = "", ...box] = sealed.split(".");
        account = tag;
        plain = this.box.open(box.join("."), linkContext(patient, tag));
      } else plain = this.box.open(sealed, legacy ? undefined : linkContextV2(patient));
    } catch (err) {
      throw refuse(messageOf(err), err);
    }
    let link: PatientLink;
    try {
      link = JSON.parse(plain) as PatientLink;
    } catch (err) {
      throw refuse("it does not hold a valid link", err);
    }
    if (legacy) return { ...link, patient, unbound: true };
    // Bound twice: as associated data above, and by the patient written inside.
    if (link.patient !== patient) throw refuse("it belongs to another patient");
    if (account !== undefined && accountTag(link.pkbId) !== account)
      throw refuse("it was sealed for another PKB account");
    return link;
  }

  /** Durable before it returns: a rotated refresh token is never only in memory. Always v3 (patient and account bound). */
  put(patient: string, link: PatientLink): void {
    const file = this.file(patient);
    const { unbound: _unbound, ...rest } = link;
    const bound: PatientLink = { ...rest, patient };
    const account = accountTag(link.pkbId);
    const sealed = `${V3}.${account}.${this.box.seal(JSON.stringify(bound), linkContext(patient, account))}`;
    try {
      writeFileAtomic(file, sealed);
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ENOSPC" || !this.makeRoom()) throw err;
      writeFileAtomic(file, sealed);
    }
    const stamp = this.stamp(file);
    if (stamp) this.cache.set(patient, { stamp, link: bound });
  }

  /**
   * Writes `link` only if the stored link is still the one made at `linkedAtMs`: a refresh that
   * finishes after a technician re-linked must not overwrite the new link. False when it changed.
   */
  replace(patient: string, linkedAtMs: number, link: PatientLink): boolean {
    if (this.get(patient)?.linkedAtMs !== linkedAtMs) return false;
    this.put(patient, link);
    return true;
  }

  state(patient: string): LinkState | "unlinked" {
    return this.get(patient)?.state ?? "unlinked";
  }
}
