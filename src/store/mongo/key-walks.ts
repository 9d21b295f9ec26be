import type { Collection, Filter, IndexDescription } from "mongodb";
import type { KeyRecord } from "../../model/records.js";
import type { ExpiryCursor } from "../store.js";
import { toRecord, type KeyDocument } from "./key-document.js";

/** A page of a walk: the keys whose ids sort after the cursor, in id order. */
export interface PageAfter {
  afterId?: string;
  limit: number;
}

/** A page of a walk by expiry: the keys after the cursor, in (expiresAt, id) order. */
export interface ExpiryPage {
  after?: ExpiryCursor;
  limit: number;
}

/** Enabled and not revoked (a revoked key is also disabled, so both are asked for the index's sake). */
const USABLE: Filter<KeyDocument> = { isActive: true, revokedAt: null };

/**
 * The key queries that walk keys a page at a time for keygate's own jobs rather than for a caller:
 * re-encryption (listSealedNotWith) and the webhook scheduler (expiring keys, unused keys).
 */
export class KeyWalks {
  static readonly indexes: IndexDescription[] = [
    // sealedNotWith: re-encryption walks only the recoverable keys.
    {
      key: { "encryptedSecret.keyId": 1, _id: 1 },
      name: "encryptedSecretKeyId_id",
      partialFilterExpression: { "encryptedSecret.keyId": { $type: "string" } },
    },
    // expiringBetween: a window of expiry times in (expiresAt, _id) order, of only the keys that expire at all.
    { key: { expiresAt: 1, _id: 1 }, name: "expiresAt_id", partialFilterExpression: { expiresAt: { $type: "date" } } },
  ];

  readonly #keys: Collection<KeyDocument>;

  constructor(keys: Collection<KeyDocument>) {
    this.#keys = keys;
  }

  sealedNotWith(keyId: string, query: PageAfter): Promise<KeyRecord[]> {
    return this.#page({ "encryptedSecret.keyId": { $type: "string", $ne: keyId } }, query);
  }

  /**
   * On the expiresAt_id index, in its order: a page is the next `limit` entries of the index after
   * the cursor, never a sort of the window. `$type` as the index's filter says it, so the planner
   * may use that partial index; the cursor's expiry bounds the index scan and its id (`$or`) only
   * filters the keys sharing that expiry.
   */
  async expiringBetween(from: Date, to: Date, query: ExpiryPage): Promise<KeyRecord[]> {
    const { after } = query;
    const filter: Filter<KeyDocument> = {
      ...USABLE,
      expiresAt: { $type: "date", $gt: from, $lte: to, ...(after && { $gte: after.expiresAt }) },
      ...(after && { $or: [{ expiresAt: { $gt: after.expiresAt } }, { _id: { $gt: after.id } }] }),
    };
    const docs = await this.#keys.find(filter).sort({ expiresAt: 1, _id: 1 }).limit(query.limit).toArray();
    return docs.map(toRecord);
  }

  /** On the keys' organizationId_isActive_id index. */
  usableCreatedBefore(organizationId: string, before: Date, query: PageAfter): Promise<KeyRecord[]> {
    return this.#page({ organizationId, ...USABLE, createdAt: { $lt: before } }, query);
  }

  async #page(filter: Filter<KeyDocument>, query: PageAfter): Promise<KeyRecord[]> {
    const docs = await this.#keys
      .find(query.afterId === undefined ? filter : { ...filter, _id: { $gt: query.afterId } })
      .sort({ _id: 1 })
      .limit(query.limit)
      .toArray();
    return docs.map(toRecord);
  }
}
