import { isIP } from "node:net";
import { isPublicAddress } from "../net/public-address.js";

/**
 * Whether a URL may be a webhook endpoint, as the contract says: `https://` on a public address,
 * unless insecure targets are allowed (KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS, for development
 * and tests: `http://`, loopback, private). A literal IP host is judged here; a name is judged
 * when it is resolved, on every delivery (webhook-sender.ts), since what it resolves to changes.
 * A name that is loopback by definition (`localhost`, RFC 6761) is refused here already.
 *
 * The answer is a plain result, not an error: the admin layer above turns a refusal into its
 * INVALID_ARGUMENT naming `url`, and nothing here knows about RPCs.
 */

export const WEBHOOK_URL_MAX_LENGTH = 2048;

/** `insecureOnly`: the URL is refused only because insecure targets are not allowed (http://, a private address). */
export type WebhookTargetCheck = { ok: true; url: string } | { ok: false; problem: string; insecureOnly: boolean };

const refuse = (problem: string, insecureOnly = false): WebhookTargetCheck => ({ ok: false, problem, insecureOnly });

/** The URL's host as an address (without IPv6 brackets), or null when it is a name. */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? null : bare;
}

const isLocalhostName = (hostname: string): boolean => /(^|\.)localhost\.?$/.test(hostname);

/** `url` checked; `problem` says what is wrong in words that may follow the field's name. */
export function checkWebhookTarget(url: string, options: { allowInsecure: boolean }): WebhookTargetCheck {
  if (url.trim() === "") return refuse("is required");
  if (url.length > WEBHOOK_URL_MAX_LENGTH) return refuse(`must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse("must be an absolute URL such as https://example.com/webhooks");
  }
  const schemes = options.allowInsecure ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(parsed.protocol)) {
    return refuse(options.allowInsecure ? "must be an http:// or https:// URL" : "must be an https:// URL", !options.allowInsecure && parsed.protocol === "http:");
  }
  if (parsed.username !== "" || parsed.password !== "") return refuse("must not hold a user name or password (put credentials in the path or verify the signature)");
  if (parsed.hostname === "") return refuse("must name a host");
  if (url.includes("#")) return refuse("must not hold a fragment (#…)");
  if (!options.allowInsecure) {
    const address = literalAddress(parsed.hostname);
    if (address !== null && !isPublicAddress(address)) return refuse("must be on a public address (not loopback, private, link-local or reserved)", true);
    if (address === null && isLocalhostName(parsed.hostname)) return refuse("must be on a public address (localhost is loopback)", true);
  }
  // What is stored is the URL as parsed (a host in its canonical form, spaces escaped), which
  // escaping may have lengthened.
  if (parsed.href.length > WEBHOOK_URL_MAX_LENGTH) return refuse(`must be at most ${WEBHOOK_URL_MAX_LENGTH} characters once escaped`);
  return { ok: true, url: parsed.href };
}
