import type { Collection, Filter, IndexDescription } from "mongodb";
import type { ApplyResult, KeyDayDelta, KeyLifetimeUsage, UsageBatch, UsageDaysQuery, UsageRepository } from "../usage-repository.js";
import { CHECK_OUTCOMES, type CheckOutcome } from "../../model/check-outcomes.js";
import { emptyTally, laterOf, requestsOf, SCALAR_COUNTERS, type KeyDayUsage, type UsageTally } from "../../model/usage-tally.js";
import type { DayRange } from "../../time/utc-days.js";
import { UsageKeyTotals, type KeyTotalsDelta } from "./usage-key-totals.js";
import { upsertOnce, type BatchUpsert } from "./usage-upserts.js";

/**
 * Usage on MongoDB: one pre-aggregated document per key and UTC day, `_id` `<org>/<key>/<day>`, whose
 * counters batches raise with `$inc` upserts in unordered bulk writes (once per batch, see
 * usage-upserts.ts). A query reads days × keys documents, never single requests. Each document
 * carries `expireAt` (its day plus the retention) for the TTL index; queries skip documents past
 * it that the TTL monitor has not removed yet. Lifetime totals per key live in usage_key_totals.
 *
 * ```
 * { _id: "org_…/key_…/2031-03-02", organizationId, keyId, day: "2031-03-02", expireAt, lastUsedAt,
 *   outcomes: { allowed: 41, RATE_LIMITED: 2 }, endpoints: { "GET /v1/machines/{id}": 43 },
 *   checkBytes, successful, failed, timedResponses, responseTimeUs, transferredBytes, flushIds: […] }
 * ```
 * Endpoint names become field names, so `%`, `.` and `$` in them are percent-escaped.
 */
export interface UsageDayDocument {
  _id: string;
  organizationId: string;
  keyId: string;
  day: string;
  expireAt: Date;
  lastUsedAt?: Date;
  outcomes?: Partial<Record<CheckOutcome, number>>;
  endpoints?: Record<string, number>;
  checkBytes?: number;
  successful?: number;
  failed?: number;
  timedResponses?: number;
  responseTimeUs?: number;
  transferredBytes?: number;
  flushIds: string[];
}

const escapeField = (name: string): string => name.replace(/[%.$]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const unescapeField = (name: string): string => name.replace(/%(25|2E|24)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

function increments(tally: UsageTally): Record<string, number> {
  const inc: Record<string, number> = {};
  for (const outcome of CHECK_OUTCOMES) if (tally.outcomes[outcome]) inc[`outcomes.${outcome}`] = tally.outcomes[outcome];
  for (const [endpoint, count] of tally.endpoints) inc[`endpoints.${escapeField(endpoint)}`] = count;
  for (const counter of SCALAR_COUNTERS) if (tally[counter]) inc[counter] = tally[counter];
  return inc;
}

function dayUpsert(entry: KeyDayDelta): BatchUpsert<UsageDayDocument> {
  const max: Record<string, Date> = { expireAt: new Date(entry.expireAtMs) };
  if (entry.lastUsedAtMs !== null) max["lastUsedAt"] = new Date(entry.lastUsedAtMs);
  const inc = increments(entry.tally);
  return {
    _id: `${entry.organizationId}/${entry.keyId}/${entry.day}`,
    // Inserted from the filter's equalities when the document is new.
    shardKey: { organizationId: entry.organizationId, keyId: entry.keyId, day: entry.day },
    update: {
      $max: max,
      ...(Object.keys(inc).length > 0 && { $inc: inc }),
    } as never,
  };
}

function toUsage(doc: UsageDayDocument): KeyDayUsage {
  const tally = emptyTally();
  for (const outcome of CHECK_OUTCOMES) if (doc.outcomes?.[outcome]) tally.outcomes[outcome] = doc.outcomes[outcome];
  for (const [field, count] of Object.entries(doc.endpoints ?? {})) tally.endpoints.set(unescapeField(field), count);
  for (const counter of SCALAR_COUNTERS) tally[counter] = doc[counter] ?? 0;
  return { organizationId: doc.organizationId, keyId: doc.keyId, day: doc.day, lastUsedAtMs: doc.lastUsedAt?.getTime() ?? null, tally };
}

/** Each key's share of a batch, for its lifetime totals. */
function keyTotalsOf(entries: readonly KeyDayDelta[]): KeyTotalsDelta[] {
  const byKey = new Map<string, KeyTotalsDelta>();
  for (const entry of entries) {
    const id = `${entry.organizationId}/${entry.keyId}`;
    const totals = byKey.get(id);
    if (totals) {
      totals.requests += requestsOf(entry.tally);
      totals.lastUsedAtMs = laterOf(totals.lastUsedAtMs, entry.lastUsedAtMs);
    } else {
      const { keyId, organizationId, lastUsedAtMs } = entry;
      byKey.set(id, { keyId, organizationId, requests: requestsOf(entry.tally), lastUsedAtMs });
    }
  }
  return [...byKey.values()];
}

export class MongoUsageRepository implements UsageRepository {
  static readonly indexes: IndexDescription[] = [
    // days and allowedRequests for an organization: a range of days, every key, in day order.
    { key: { organizationId: 1, day: 1, keyId: 1 }, name: "organizationId_day_keyId" },
    // days for chosen keys (one key's usage, the usage shown on a page of keys).
    { key: { organizationId: 1, keyId: 1, day: 1 }, name: "organizationId_keyId_day" },
    // Retention: each document goes once its expireAt has passed.
    { key: { expireAt: 1 }, name: "expireAt_ttl", expireAfterSeconds: 0 },
  ];

  readonly #days: Collection<UsageDayDocument>;
  readonly #totals: UsageKeyTotals;
  readonly #now: () => number;

  constructor(days: Collection<UsageDayDocument>, totals: UsageKeyTotals, now: () => number = Date.now) {
    this.#days = days;
    this.#totals = totals;
    this.#now = now;
  }

  async apply(batch: UsageBatch): Promise<ApplyResult> {
    const refused = await upsertOnce(this.#days, batch.id, batch.entries.map(dayUpsert));
    const refusedIndexes = new Set(refused.map((r) => r.index));
    await this.#totals.add(batch.id, keyTotalsOf(batch.entries.filter((_, index) => !refusedIndexes.has(index))));
    return {
      rejected: refused.map(({ index, reason }) => ({ keyId: batch.entries[index]!.keyId, day: batch.entries[index]!.day, reason })),
    };
  }

  #inRange(organizationId: string, range: DayRange): Filter<UsageDayDocument> {
    return { organizationId, day: { $gte: range.from, $lte: range.to }, expireAt: { $gt: new Date(this.#now()) } };
  }

  async days(organizationId: string, range: DayRange, query: UsageDaysQuery = {}): Promise<KeyDayUsage[]> {
    const filter = this.#inRange(organizationId, range);
    if (query.keyIds) filter.keyId = { $in: [...query.keyIds] };
    const projection = query.withEndpoints === false ? { flushIds: 0, endpoints: 0 } : { flushIds: 0 };
    const docs = await this.#days.find(filter, { projection }).sort({ day: 1, keyId: 1 }).toArray();
    return docs.map(toUsage);
  }

  keyTotals(organizationId: string, keyIds: readonly string[]): Promise<Map<string, KeyLifetimeUsage>> {
    return this.#totals.of(organizationId, keyIds);
  }

  async allowedRequests(organizationId: string, range: DayRange): Promise<number> {
    const [sum] = await this.#days
      .aggregate<{ allowed: number }>([
        { $match: this.#inRange(organizationId, range) },
        { $group: { _id: null, allowed: { $sum: "$outcomes.allowed" } } },
      ])
      .toArray();
    return sum?.allowed ?? 0;
  }
}
