import { parseClientIp, type IpAddress } from "../net/ip-allow-list.js";
import { ipSource } from "./sliding-counters.js";

/**
 * The failed-key throttle's source for one Check: the client address the Check names. That
 * address is only what the caller says, so from a caller that passed no data-plane boundary (any
 * peer, when none is configured) the source is that address as seen from that TCP peer: forged
 * Checks naming a real client's address spend the forger's own budget for it, never the one
 * Envoy's Checks for that client use. Behind a boundary every caller is Envoy, and a client
 * guessing keys through several Envoys has one budget.
 */
export function failedKeySource(caller: { readonly passedBoundary: boolean; readonly peer: string | undefined }, clientIp: IpAddress | null): string {
  const client = ipSource(clientIp);
  if (caller.passedBoundary) return client;
  return `${client} from ${ipSource(caller.peer === undefined ? null : parseClientIp(caller.peer))}`;
}
