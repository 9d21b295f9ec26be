import { create } from "@bufbuild/protobuf";
import { GetIdentityUsageResponseSchema, KeyRequestsSchema, UsageSource } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyRecord } from "../../model/records.js";
import { figuresByKey, figuresOf } from "../../usage/usage-figures.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import type { KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { dailyRequests, periodRange } from "../usage/usage-service.js";
import { existingIdentity } from "./identity-lookups.js";

const KEYS_PER_READ = 1000;

/**
 * GetIdentityUsage: the stored per-key-per-day usage of the keys tied to the identity now, summed,
 * per key (most requests first) and per day. A key untied since took its usage with it.
 */
export function getIdentityUsage(deps: KeyAdminDeps): KeyAdminHandler<"getIdentityUsage"> {
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const range = periodRange(req.period, clock.now());
    const identity = await existingIdentity(store, caller, req.id);
    const keys = await tiedKeys(deps, caller.organization.id, identity.id);
    const days = keys.length === 0 ? [] : await store.usage.days(caller.organization.id, range, { keyIds: keys.map((key) => key.id), withEndpoints: false });
    const figures = figuresOf(days);
    const byKey = figuresByKey(days);
    const requestsByKey = keys
      .map((key) => ({ key, requests: byKey.get(key.id)?.requests ?? 0 }))
      .sort((a, b) => b.requests - a.requests || (a.key.id < b.key.id ? -1 : 1))
      .map(({ key, requests }) => create(KeyRequestsSchema, { keyId: key.id, name: key.name, requests: BigInt(requests) }));
    return create(GetIdentityUsageResponseSchema, {
      identityId: identity.id,
      period: req.period,
      totalRequests: BigInt(figures.requests),
      successfulRequests: BigInt(figures.successful),
      failedRequests: BigInt(figures.failed),
      rateLimitedRequests: BigInt(figures.throttled),
      requestsByKey,
      dailyBreakdown: dailyRequests(days, range),
      source: figures.fromAccessLog ? UsageSource.ACCESS_LOG : UsageSource.CHECK_DECISIONS,
    });
  };
}

async function tiedKeys(deps: KeyAdminDeps, organizationId: string, identityId: string): Promise<KeyRecord[]> {
  const keys: KeyRecord[] = [];
  for (;;) {
    const page = await deps.store.keys.list(organizationId, { identityId, limit: KEYS_PER_READ, ...(keys.length > 0 && { afterId: keys.at(-1)!.id }) });
    keys.push(...page);
    if (page.length < KEYS_PER_READ) return keys;
  }
}
