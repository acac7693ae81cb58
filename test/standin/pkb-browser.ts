/**
 * A scripted browser for the stand-in's pages: follows redirects with a cookie jar and submits
 * the forms a patient would (sign in and approve or deny; enter a device code and confirm).
 */
class Browser {
  private readonly jar = new Map<string, string>();

  async go(url: URL, form?: URLSearchParams): Promise<Response> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, {
      method: form ? "POST" : "GET",
      redirect: "manual",
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(form ? { body: form.toString() } : {}),
    });
    for (const set of res.headers.getSetCookie()) {
      const [pair = ""] = set.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(set) || value === "") this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }
}

const attr = (tag: string, name: string) =>
  new RegExp(`\\b${name}="([^"]*)"`)
    .exec(tag)?.[1]
    ?.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c)));

/** The first form of a page: where it posts and the values its inputs already hold. */
function firstForm(html: string, base: URL): { action: URL; fields: URLSearchParams } | undefined {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/.exec(html);
  if (!form) return undefined;
  const action = new URL(attr(form[0], "action") ?? base.href, base);
  const fields = new URLSearchParams();
  for (const input of form[1]?.match(/<input\b[^>]*>/g) ?? []) {
    const name = attr(input, "name");
    if (name) fields.set(name, attr(input, "value") ?? "");
  }
  return { action, fields };
}

/**
 * Walks from `start` through the stand-in's pages, filling each form with `answers`, until a redirect
 * leaves the stand-in (returned: the hub's redirect URI with code or error) or a page has no form
 * (returned: undefined, e.g. the device flow's "done" page).
 */
async function walk(start: URL, answers: Record<string, string>): Promise<URL | undefined> {
  const browser = new Browser();
  let url = start;
  let res = await browser.go(url);
  for (let step = 0; step < 20; step++) {
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      if (next.origin !== start.origin) return next;
      url = next;
      res = await browser.go(url);
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`stand-in page ${url.pathname} answered ${res.status}: ${html}`);
    const form = firstForm(html, url);
    if (!form) return undefined;
    for (const [k, v] of Object.entries(answers)) form.fields.set(k, v);
    url = form.action;
    res = await browser.go(url, form.fields);
  }
  throw new Error("too many steps on the stand-in's pages");
}

/** The patient opens the authorization URL, signs in and approves (or denies): the redirect back to the hub. */
export async function approveAs(
  authorizationUrl: URL,
  patientId: string,
  decision: "approve" | "deny" = "approve",
): Promise<URL> {
  const back = await walk(authorizationUrl, { login: patientId, decision });
  if (!back) throw new Error("the approve page did not redirect back to the hub");
  return back;
}

/** Device grant: the patient opens the verification page, enters the code, signs in and decides. */
export async function approveDeviceAs(
  verificationUri: URL,
  userCode: string,
  patientId: string,
  decision: "approve" | "deny" = "approve",
): Promise<void> {
  await walk(verificationUri, { user_code: userCode, login: patientId, decision });
}
