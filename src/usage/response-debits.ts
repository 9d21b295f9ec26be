import { LRUCache } from "lru-cache";
import type { HTTPAccessLogEntry } from "../../gen/envoy/data/accesslog/v3/accesslog_pb.js";
import type { Logger } from "../log/logger.js";
import { growingEntryBound } from "../model/entry-bound.js";
import { settingsOf } from "../model/organization-settings.js";
import type { IdentityRecord } from "../model/identities.js";
import type { KeyRecord } from "../model/records.js";
import type { DebitedRequestRepository, IdentityRepository, KeyRepository, OrganizationRepository } from "../store/store.js";
import { debitRememberedUntil, readResponseCost, routeOf } from "./response-cost-reading.js";
import type { ResponseUsageEvent } from "./usage-event.js";
import type { ResponseCostResult } from "./usage-metrics.js";

/**
 * Cost from the response (docs/response-cost.md): after an access-log entry of an allowed request
 * is recorded, the cost its upstream reported in the route's or the organization's response
 * header is debited from the key's credits and its identity's, once per request. The request is
 * recorded as debited first (the organization and Envoy's request id, unique in the store), and
 * only the writer that recorded it debits: an entry Envoy sends again, to this replica or
 * another, finds the record and debits nothing. A debit that fails drops the record again, so a
 * resent entry may still debit; one that never comes back is not debited (an undercharge, never
 * a double charge), and is counted as `failed`.
 *
 * A debit that takes a balance to its `key.credits_low` threshold makes no event here: the key's
 * next Check, admitted or denied CREDITS_EXHAUSTED, notes the balance as it then is, and the
 * webhook scheduler judges it (src/webhooks/schedule/credit-low-events.ts). A key that is never
 * checked again spends nothing more, so there is nothing to warn of until it is.
 */

/**
 * Spends `units` from the key's credits and its identity's (those that hold credits) whatever is
 * left: each balance goes down by `units`, or to zero, never below, and the next Check on any
 * replica sees it (CheckLimits.debitCredits). Resolves once counted.
 */
export type DebitCredits = (key: KeyRecord, identity: IdentityRecord | null, units: number) => Promise<void>;

export interface ResponseDebitsDeps {
  debitedRequests: DebitedRequestRepository;
  debitCredits: DebitCredits;
  keys: Pick<KeyRepository, "findById">;
  identities: Pick<IdentityRepository, "findById">;
  organizations: Pick<OrganizationRepository, "findById">;
  /** The response header the route table's rule for the request names; null: the organization's setting. */
  costHeaderFor: (method: string, path: string) => string | null;
  logger: Logger;
  count: (result: ResponseCostResult) => void;
}

/** Organizations' response_cost_header as last read: a changed setting holds within a minute. */
const SETTINGS_MAX = 100_000;
const SETTINGS_TTL_MS = 60_000;

export class ResponseDebits {
  readonly #deps: ResponseDebitsDeps;
  readonly #headers: LRUCache<string, string>;

  constructor(deps: ResponseDebitsDeps) {
    this.#deps = deps;
    this.#headers = new LRUCache<string, string>({ ...growingEntryBound(SETTINGS_MAX), ttl: SETTINGS_TTL_MS });
  }

  /** Debits what the entry's response reported, if anything; never throws (failures are logged and counted). */
  async debit(entry: HTTPAccessLogEntry, event: ResponseUsageEvent, nowMs: number): Promise<void> {
    // Envoy logs no response header unless told to: most entries stop here, with no store read.
    const logged = entry.response?.responseHeaders;
    if (logged === undefined || Object.keys(logged).length === 0) return;
    const deps = this.#deps;
    try {
      const route = routeOf(entry);
      const header = deps.costHeaderFor(route.method, route.path) ?? (await this.#organizationHeader(event.organizationId));
      if (header === "") return;
      const reading = readResponseCost(entry, header, event.atMs, nowMs);
      if (reading === null) return;
      if (reading.result !== "debit") return deps.count(reading.result);
      // Read now, not cached: a debit lands in the balances the key and its identity hold now
      // (their credits' setAt). The identity is the one the stored key names, as for Check.
      const key = await deps.keys.findById(event.organizationId, event.keyId);
      const identity = key?.identityId === undefined ? null : await deps.identities.findById(event.organizationId, key.identityId);
      if (key === null || (key.credits === undefined && !identity?.credits)) return deps.count("no_credits");
      const now = new Date(nowMs);
      if (!(await deps.debitedRequests.record(event.organizationId, reading.requestId, debitRememberedUntil(event.atMs), now))) return deps.count("duplicate");
      try {
        await deps.debitCredits(key, identity, reading.amount);
        deps.count("debited");
      } catch (error) {
        await deps.debitedRequests.forget(event.organizationId, reading.requestId).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      deps.logger.error({ err: error, keyId: event.keyId, organizationId: event.organizationId }, "access log: a response-reported cost was not debited");
      deps.count("failed");
    }
  }

  async #organizationHeader(organizationId: string): Promise<string> {
    const cached = this.#headers.get(organizationId);
    if (cached !== undefined) return cached;
    const organization = await this.#deps.organizations.findById(organizationId);
    const header = organization === null ? "" : settingsOf(organization).responseCostHeader;
    this.#headers.set(organizationId, header);
    return header;
  }
}
