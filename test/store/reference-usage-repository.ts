import type { ApplyResult, KeyLifetimeUsage, UsageBatch, UsageDaysQuery, UsageRepository } from "../../src/store/usage-repository.js";
import { addTally, emptyTally, laterOf, requestsOf, type KeyDayUsage, type UsageTally } from "../../src/model/usage-tally.js";
import { daysFrom, type Day, type DayRange } from "../../src/time/utc-days.js";

/**
 * What the compact embedded usage store (src/store/memory/usage-repository.ts) is held to by
 * usage-repository-model.test.ts: that store as it was before its records became typed columns,
 * one object graph per key-day in Maps by organization, day and key, as plain as it can be.
 * `apply` runs without awaiting; batch ids already applied are remembered; days past their
 * retention are skipped at once and swept out now and then.
 */

interface StoredDay {
  usage: KeyDayUsage;
  expireAtMs: number;
}

/** How many batch ids are remembered; a retry comes long before this many later batches. */
const REMEMBERED_BATCHES = 10_000;
const SWEEP_INTERVAL_MS = 60_000;

function copyTally(tally: UsageTally, withEndpoints: boolean): UsageTally {
  return { ...tally, outcomes: { ...tally.outcomes }, endpoints: withEndpoints ? new Map(tally.endpoints) : new Map() };
}

export class ReferenceUsageRepository implements UsageRepository {
  readonly #days = new Map<string, Map<Day, Map<string, StoredDay>>>();
  /** By `<organizationId>/<keyId>`. */
  readonly #totals = new Map<string, KeyLifetimeUsage>();
  readonly #applied = new Set<string>();
  readonly #now: () => number;
  #lastSweepMs = 0;

  /** `now` decides which days are past retention (wall-clock time, as MongoDB's TTL monitor). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async apply(batch: UsageBatch): Promise<ApplyResult> {
    this.#sweep();
    if (this.#applied.has(batch.id)) return { rejected: [] };
    this.#applied.add(batch.id);
    if (this.#applied.size > REMEMBERED_BATCHES) this.#applied.delete(this.#applied.values().next().value!);
    for (const entry of batch.entries) {
      let byDay = this.#days.get(entry.organizationId);
      if (!byDay) this.#days.set(entry.organizationId, (byDay = new Map()));
      let byKey = byDay.get(entry.day);
      if (!byKey) byDay.set(entry.day, (byKey = new Map()));
      let stored = byKey.get(entry.keyId);
      if (!stored || stored.expireAtMs <= this.#now()) {
        const { organizationId, keyId, day } = entry;
        stored = { usage: { organizationId, keyId, day, lastUsedAtMs: null, tally: emptyTally() }, expireAtMs: 0 };
        byKey.set(entry.keyId, stored);
      }
      addTally(stored.usage.tally, entry.tally);
      stored.usage.lastUsedAtMs = laterOf(stored.usage.lastUsedAtMs, entry.lastUsedAtMs);
      stored.expireAtMs = Math.max(stored.expireAtMs, entry.expireAtMs);

      const totalsId = `${entry.organizationId}/${entry.keyId}`;
      let totals = this.#totals.get(totalsId);
      if (!totals) this.#totals.set(totalsId, (totals = { requests: 0, lastUsedAtMs: null }));
      totals.requests += requestsOf(entry.tally);
      totals.lastUsedAtMs = laterOf(totals.lastUsedAtMs, entry.lastUsedAtMs);
    }
    return { rejected: [] };
  }

  async days(organizationId: string, range: DayRange, query: UsageDaysQuery = {}): Promise<KeyDayUsage[]> {
    const byDay = this.#days.get(organizationId);
    if (!byDay) return [];
    const wanted = query.keyIds && new Set(query.keyIds);
    const now = this.#now();
    const found: KeyDayUsage[] = [];
    for (const day of daysFrom(range.from, range.to)) {
      const byKey = byDay.get(day);
      if (!byKey) continue;
      for (const keyId of [...byKey.keys()].sort()) {
        const stored = byKey.get(keyId)!;
        if (stored.expireAtMs <= now || (wanted && !wanted.has(keyId))) continue;
        found.push({ ...stored.usage, tally: copyTally(stored.usage.tally, query.withEndpoints ?? true) });
      }
    }
    return found;
  }

  async keyTotals(organizationId: string, keyIds: readonly string[]): Promise<Map<string, KeyLifetimeUsage>> {
    const found = new Map<string, KeyLifetimeUsage>();
    for (const keyId of keyIds) {
      const totals = this.#totals.get(`${organizationId}/${keyId}`);
      if (totals) found.set(keyId, { ...totals });
    }
    return found;
  }

  async allowedRequests(organizationId: string, range: DayRange): Promise<number> {
    let allowed = 0;
    for (const usage of await this.days(organizationId, range, { withEndpoints: false })) allowed += usage.tally.outcomes.allowed ?? 0;
    return allowed;
  }

  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.#lastSweepMs = now;
    for (const [organizationId, byDay] of this.#days) {
      for (const [day, byKey] of byDay) {
        for (const [keyId, stored] of byKey) if (stored.expireAtMs <= now) byKey.delete(keyId);
        if (byKey.size === 0) byDay.delete(day);
      }
      if (byDay.size === 0) this.#days.delete(organizationId);
    }
  }
}
