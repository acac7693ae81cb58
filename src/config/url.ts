import { isIP } from "node:net";

/**
 * Where the hub may send PHI and credentials: `https:` anywhere, plain `http:` only to this machine
 * (the stand-ins and the loopback OAuth callback). Any other scheme (`file:`, `javascript:`, `ftp:`)
 * is refused. One rule for every route, used by `config check` and again at start.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.split(".")[0] === "127";
  if (isIP(host) === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

/** Why `url` must not carry PHI or credentials, or undefined when it may. Never echoes credentials. */
export function endpointProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return "must not carry credentials in the URL (use the secret files)";
  }
  if (parsed.protocol === "https:") return undefined;
  if (parsed.protocol === "http:") {
    return isLoopbackHost(parsed.hostname)
      ? undefined
      : `uses cleartext http:// to ${parsed.hostname}: only https:// is allowed beyond loopback`;
  }
  return `uses the scheme ${parsed.protocol} : only https:// (or http:// to loopback) is allowed`;
}
