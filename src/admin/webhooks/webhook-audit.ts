import type { WebhookEndpointRecord } from "../../model/webhooks.js";

/**
 * What an audit entry says of an endpoint: its id, and of its URL only the origin (scheme, host,
 * port), where its events go. The path and query stay out: receivers often carry a token of their
 * own there. The signing secret never appears, sealed or not.
 */
export function endpointDetails(endpoint: Pick<WebhookEndpointRecord, "id" | "url">): Record<string, string> {
  return { endpointId: endpoint.id, target: new URL(endpoint.url).origin };
}
