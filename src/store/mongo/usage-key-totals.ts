import type { Collection } from "mongodb";
import type { KeyLifetimeUsage } from "../usage-repository.js";
import { upsertOnce, type BatchUpsert } from "./usage-upserts.js";

/**
 * One document per key: its requests since first use and its last allowed request, kept beside
 * the daily documents so a key's lifetime total costs one read, whatever the retention. Updated
 * by the same batches as the days, with the same once-per-batch upserts. Only addressed by `_id`
 * (organization and key, so usage claimed for one organization never lands on another's key).
 */
export interface UsageKeyTotalsDocument {
  /** `<organizationId>/<keyId>`. */
  _id: string;
  organizationId: string;
  keyId: string;
  requests: number;
  lastUsedAt?: Date;
  flushIds: string[];
}

export interface KeyTotalsDelta extends KeyLifetimeUsage {
  keyId: string;
  organizationId: string;
}

export class UsageKeyTotals {
  readonly #totals: Collection<UsageKeyTotalsDocument>;

  constructor(totals: Collection<UsageKeyTotalsDocument>) {
    this.#totals = totals;
  }

  async add(batchId: string, deltas: readonly KeyTotalsDelta[]): Promise<void> {
    const upserts = deltas.map(
      ({ keyId, organizationId, requests, lastUsedAtMs }): BatchUpsert<UsageKeyTotalsDocument> => ({
        _id: `${organizationId}/${keyId}`,
        update: {
          $inc: { requests },
          $setOnInsert: { organizationId, keyId },
          ...(lastUsedAtMs !== null && { $max: { lastUsedAt: new Date(lastUsedAtMs) } }),
        },
      }),
    );
    const refused = await upsertOnce(this.#totals, batchId, upserts);
    // Nothing in a totals update can grow or break a document: a refusal is a fault to report.
    if (refused.length > 0) throw new Error(`key totals refused: ${refused.map((r) => r.reason).join("; ")}`);
  }

  async of(organizationId: string, keyIds: readonly string[]): Promise<Map<string, KeyLifetimeUsage>> {
    const docs = await this.#totals.find({ _id: { $in: keyIds.map((keyId) => `${organizationId}/${keyId}`) } }).toArray();
    return new Map(docs.map((doc) => [doc.keyId, { requests: doc.requests, lastUsedAtMs: doc.lastUsedAt?.getTime() ?? null }]));
  }
}
