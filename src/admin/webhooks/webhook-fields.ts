import { checkWebhookTarget } from "../../webhooks/webhook-target.js";
import { isWebhookEventType, WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../model/webhooks.js";
import { fieldError } from "../errors.js";
import { validText } from "../validation.js";

/**
 * Field rules of the webhook RPCs. Each failure is an INVALID_ARGUMENT whose ErrorInfo names the
 * field, raised before anything is written. Messages never quote the URL: receivers often carry
 * a token of their own in it.
 */

const DESCRIPTION_MAX = 500;

/** What a developer pointing keygate at a local receiver needs to read, after an insecure target's refusal. */
const INSECURE_HINT = "; for development, a server started with KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS=true allows http:// and private addresses";

/** A target the contract allows (webhooks/webhook-target.ts), as it will be stored and called. */
export function validTargetUrl(url: string, allowInsecureTargets: boolean): string {
  const target = checkWebhookTarget(url, { allowInsecure: allowInsecureTargets });
  if (!target.ok) throw fieldError("url", target.insecureOnly ? `${target.problem}${INSECURE_HINT}` : target.problem);
  return target.url;
}

/** Known event types, duplicates dropped; empty means every type. The first unknown one is named by its index. */
export function validEventTypes(types: readonly string[]): WebhookEventType[] {
  const unknown = types.findIndex((type) => !isWebhookEventType(type));
  if (unknown !== -1) {
    // The value is not quoted: it may be anything pasted in its place.
    throw fieldError(`event_types[${unknown}]`, `is not an event type; the types are ${WEBHOOK_EVENT_TYPES.join(", ")}`);
  }
  return [...new Set(types as readonly WebhookEventType[])];
}

export const validEndpointDescription = (description: string): string => validText(description, "description", DESCRIPTION_MAX);
