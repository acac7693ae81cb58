import * as client from "openid-client";
import { HubError, messageOf } from "../core/errors.js";
import { oauthConfig, type PkbRestConfig } from "../forward/pkb-rest/oauth.js";
import { type Reach, reachHttp } from "./probes.js";

/**
 * Before a patient is asked to approve anything: the client secret can be read, PKB answers, and
 * PKB accepts this hub's client credentials. The last is asked of the token endpoint with a code
 * that cannot be valid: OAuth servers authenticate the client first, so `invalid_client` means the
 * id or secret is wrong, while `invalid_grant` (about the code) means they were accepted.
 */
export async function linkPreflight(
  route: PkbRestConfig,
  deps: { reach?: (url: string) => Promise<Reach>; fetch?: typeof fetch } = {},
): Promise<void> {
  const config = oauthConfig(route, deps.fetch ?? fetch);
  const reach = await (deps.reach ?? ((url: string) => reachHttp(url, undefined, route.requestTimeoutMs)))(
    route.baseUrl,
  );
  if (!reach.ok)
    throw new HubError(
      "NETWORK",
      `PKB at ${route.baseUrl} cannot be reached (${reach.reason}): fix the hub's network${reach.tls ? " or the certificate trust" : ""} before asking the patient to approve (pkb-hub doctor)`,
    );
  try {
    await client.genericGrantRequest(config, "authorization_code", {
      code: "pkb-hub-credentials-check",
      redirect_uri: route.redirectUri,
    });
  } catch (err) {
    const code = (err as { error?: unknown }).error;
    if (code === "invalid_client" || code === "unauthorized_client")
      throw new HubError(
        "AUTH_FAILED",
        `PKB refused this hub's client credentials (${code}): fix routes.pkbRest.clientId and the secret in ${route.clientSecretFile} before asking the patient to approve`,
      );
    if (typeof code === "string") return; // an OAuth answer about the code: the client was accepted
    throw new HubError("NETWORK", `PKB's token endpoint did not answer as expected: ${messageOf(err)}`, {
      cause: err,
    });
  }
  throw new HubError(
    "PROTOCOL",
    "PKB's token endpoint accepted a made-up code: check routes.pkbRest.baseUrl",
  );
}
