import type { KeyUsageTotals } from "../mapping.js";
import type { KeyRecord } from "../../model/records.js";
import type { UsageRepository } from "../../store/usage-repository.js";
import { requestsOf } from "../../model/usage-tally.js";
import { monthOf, utcDay } from "../../time/utc-days.js";

/**
 * The usage shown on keys (ListKeys, GetKey, UpdateKey, RegenerateKey): total since first use,
 * today and this UTC calendar month, all counting Check decisions as every usage figure does,
 * from the stored usage. `last_used_at` comes from the same data (the keys collection itself is
 * never written per request).
 */
export function keyUsageTotals(usage: UsageRepository) {
  return async (keys: readonly KeyRecord[], nowMs: number): Promise<Map<string, KeyUsageTotals>> => {
    const totals = new Map<string, KeyUsageTotals>();
    const today = utcDay(nowMs);
    const month = { from: monthOf(today).from, to: today };
    const byOrganization = new Map<string, KeyRecord[]>();
    for (const key of keys) {
      const ofOrganization = byOrganization.get(key.organizationId);
      if (ofOrganization) ofOrganization.push(key);
      else byOrganization.set(key.organizationId, [key]);
    }
    for (const [organizationId, ofOrganization] of byOrganization) {
      const keyIds = ofOrganization.map((key) => key.id);
      const [lifetime, days] = await Promise.all([
        usage.keyTotals(organizationId, keyIds),
        usage.days(organizationId, month, { keyIds, withEndpoints: false }),
      ]);
      for (const key of ofOrganization) {
        const since = lifetime.get(key.id);
        totals.set(key.id, {
          totalRequests: BigInt(since?.requests ?? 0),
          requestsToday: 0n,
          requestsThisMonth: 0n,
          lastUsedAt: since?.lastUsedAtMs != null ? new Date(since.lastUsedAtMs) : null,
        });
      }
      for (const usageDay of days) {
        const keyTotals = totals.get(usageDay.keyId)!;
        const requests = BigInt(requestsOf(usageDay.tally));
        keyTotals.requestsThisMonth += requests;
        if (usageDay.day === today) keyTotals.requestsToday += requests;
      }
    }
    return totals;
  };
}
