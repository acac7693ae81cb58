import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import Provider, {
  type AccessTokenLike,
  type InteractionResult,
  type OidcClientLike,
  type OidcContextLike,
} from "oidc-provider";
import { standinAdapterFactory } from "./pkb-oauth-store.js";

/**
 * The stand-in's OAuth 2.0 authorization server: oidc-provider v9 mounted at PKB's paths
 * (`/apiAuthorize.action`, `/apiToken.action`), scope `PATIENT`, authorization code (PKCE accepted,
 * verified when sent), refresh tokens with rotation switchable (PKB's behaviour is unknown),
 * revocation (RFC 7009), short access-token lifetimes, optionally the device authorization grant,
 * and a plain login/approve page that a test drives over HTTP (./pkb-browser.ts).
 */
export interface OAuthOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Paths of the redirect URIs registered for the hub (any loopback host/port: a native client). */
  redirectPaths: string[];
  accessTokenTtlSec: number;
  rotateRefreshTokens: boolean;
  deviceGrant: boolean;
  knownPatient: (patientId: string) => boolean;
}

export const OAUTH_PATHS = {
  authorization: "/apiAuthorize.action",
  token: "/apiToken.action",
  revocation: "/apiRevoke.action",
  device_authorization: "/apiDeviceAuthorization.action",
  code_verification: "/apiDevice.action",
} as const;
const INTERACTION = "/standin/interaction/";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A page whose forms a scripted browser can submit (oidc-provider hands us `form` with its xsrf). */
const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (c: Buffer) => {
      data += c.toString();
    });
    req.on("end", () => resolve(new URLSearchParams(data)));
    req.on("error", reject);
  });
}

export class StandinOAuth {
  readonly provider: Provider;
  rotate: boolean;
  accessTtlSec: number;
  tokenRequests = 0;
  private readonly resource: string;
  private readonly grantsOf = new Map<string, Set<string>>();
  private readonly tokensOf = new Map<string, Set<string>>();
  private readonly expired = new Set<string>();

  constructor(private readonly o: OAuthOptions) {
    this.rotate = o.rotateRefreshTokens;
    this.accessTtlSec = o.accessTokenTtlSec;
    this.resource = `${o.issuer}/json`;
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
    const redirectUris = o.redirectPaths.flatMap((p) => [`http://127.0.0.1${p}`, `http://localhost${p}`]);
    const noHtmlErrors = async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = "text/plain";
      ctx.body = `${out.error ?? "error"}: ${out.error_description ?? ""}`;
    };
    this.provider = new Provider(o.issuer, {
      clients: [
        {
          client_id: o.clientId,
          client_secret: o.clientSecret,
          application_type: "native",
          redirect_uris: redirectUris,
          grant_types: [
            "authorization_code",
            "refresh_token",
            ...(o.deviceGrant ? ["urn:ietf:params:oauth:grant-type:device_code"] : []),
          ],
          response_types: ["code"],
          token_endpoint_auth_method: "client_secret_post",
          id_token_signed_response_alg: "ES256",
        },
      ],
      adapter: standinAdapterFactory(),
      scopes: ["PATIENT"],
      routes: OAUTH_PATHS,
      jwks: { keys: [{ ...jwk, kid: "standin", use: "sig", alg: "ES256" }] },
      cookies: { keys: [randomBytes(32).toString("hex")] },
      pkce: { required: () => false },
      findAccount: async (_ctx: unknown, id: string) =>
        o.knownPatient(id) ? { accountId: id, claims: async () => ({ sub: id }) } : undefined,
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION}${interaction.uid}`,
      },
      issueRefreshToken: async (_ctx: unknown, client: OidcClientLike) =>
        client.grantTypeAllowed("refresh_token"),
      rotateRefreshToken: (_ctx: OidcContextLike) => this.rotate,
      expiresWithSession: async () => false,
      renderError: noHtmlErrors,
      ttl: {
        AccessToken: () => this.accessTtlSec,
        AuthorizationCode: 60,
        DeviceCode: 600,
        Grant: 30 * 86_400,
        Interaction: 600,
        Session: 86_400,
        RefreshToken: 30 * 86_400,
      },
      features: {
        devInteractions: { enabled: false },
        revocation: {
          enabled: true,
          // A client may revoke only its own tokens (oidc-provider's default, stated so it stays quiet).
          allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
            token.clientId === client.clientId,
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => this.resource,
          useGrantedResource: async () => true,
          getResourceServerInfo: async () => ({
            scope: "PATIENT",
            accessTokenFormat: "opaque",
            accessTokenTTL: this.accessTtlSec,
          }),
        },
        deviceFlow: {
          enabled: o.deviceGrant,
          userCodeInputSource: async (ctx: { body: string }, form: string) => {
            ctx.body = page("Enter code", `${form.replace("</form>", "")}<input name="user_code"></form>`);
          },
          userCodeConfirmSource: async (ctx: { body: string }, form: string) => {
            ctx.body = page("Confirm", form);
          },
          successSource: async (ctx: { body: string }) => {
            ctx.body = page("Done", "<p>The hub is linked. You can close this page.</p>");
          },
        },
      },
    });
    // Poll the device grant every second (oidc-provider names no interval, so clients wait 5 s).
    this.provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === OAUTH_PATHS.device_authorization && ctx.body && typeof ctx.body === "object") {
        (ctx.body as Record<string, unknown>).interval = 1;
      }
    });
    this.callback = this.provider.callback();
    this.provider.on("access_token.saved", (t: AccessTokenLike) => {
      if (!t.accountId) return;
      const set = this.tokensOf.get(t.accountId) ?? new Set<string>();
      set.add(t.jti);
      this.tokensOf.set(t.accountId, set);
    });
  }

  private readonly callback: (req: IncomingMessage, res: ServerResponse) => void;

  /** True for the paths this server answers. */
  handles(pathname: string): boolean {
    return (
      Object.values(OAUTH_PATHS).some((p) => pathname === p || pathname.startsWith(`${p}/`)) ||
      pathname.startsWith(INTERACTION)
    );
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === OAUTH_PATHS.token && req.method === "POST") this.tokenRequests++;
    if (url.pathname.startsWith(INTERACTION)) return this.interaction(req, res);
    this.callback(req, res);
  }

  /** The resource server's check: the patient a bearer token speaks for, if it is valid. */
  async patientOf(token: string): Promise<string | undefined> {
    const at = await this.provider.AccessToken.find(token);
    if (!at || at.isExpired || !at.accountId || this.expired.has(at.jti)) return undefined;
    if (!at.scope?.split(" ").includes("PATIENT")) return undefined;
    if (!at.grantId || !(await this.provider.Grant.find(at.grantId))) return undefined;
    return at.accountId;
  }

  /** Every access token issued so far to the patient expires now (refresh keeps working). */
  expireAccessTokens(patientId: string): void {
    for (const jti of this.tokensOf.get(patientId) ?? []) this.expired.add(jti);
  }

  /** The patient revoked the hub's access in PKB: every grant of theirs and its tokens end. */
  async revokePatient(patientId: string): Promise<void> {
    for (const grantId of this.grantsOf.get(patientId) ?? []) {
      await this.provider.AccessToken.revokeByGrantId(grantId);
      await this.provider.RefreshToken.revokeByGrantId(grantId);
      await this.provider.AuthorizationCode.revokeByGrantId(grantId);
      await (await this.provider.Grant.find(grantId))?.destroy();
    }
    this.grantsOf.delete(patientId);
  }

  /** How many grants of the patient are still alive (revocation ends them). */
  async activeGrants(patientId: string): Promise<number> {
    let n = 0;
    for (const grantId of this.grantsOf.get(patientId) ?? [])
      if (await this.provider.Grant.find(grantId)) n++;
    return n;
  }

  /** The login/approve page: GET shows it, POST `login` + `decision` (approve|deny) answers. */
  private async interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const details = await this.provider.interactionDetails(req, res);
      if (req.method !== "POST") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(
          page(
            "Patients Know Best (stand-in)",
            `<form method="post" action="${INTERACTION}${escapeHtml(details.uid)}">` +
              `<label>Patient id <input name="login"></label>` +
              `<button name="decision" value="approve">Approve</button>` +
              `<button name="decision" value="deny">Deny</button></form>`,
          ),
        );
        return;
      }
      const form = await readForm(req);
      const login = form.get("login") ?? "";
      let result: InteractionResult;
      if (form.get("decision") !== "approve" || !this.o.knownPatient(login)) {
        result = { error: "access_denied", error_description: "the patient did not approve" };
      } else {
        const grant = new this.provider.Grant({ accountId: login, clientId: this.o.clientId });
        grant.addOIDCScope("PATIENT");
        grant.addResourceScope(this.resource, "PATIENT");
        const grantId = await grant.save();
        const set = this.grantsOf.get(login) ?? new Set<string>();
        set.add(grantId);
        this.grantsOf.set(login, set);
        result = { login: { accountId: login }, consent: { grantId } };
      }
      await this.provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    } catch (err) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`interaction failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
export { approveAs, approveDeviceAs } from "./pkb-browser.js";
