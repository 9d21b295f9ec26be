import type { Filter } from "mongodb";
import type { KeyAsSeen } from "../key-as-seen.js";
import type { KeyDocument } from "./key-document.js";

/** What the key repository's writes put in their filters, so each write acts on the key it means. */

/** Only keys that are not revoked hold a slot; each matches at most one key. */
export const holdingSlot = (organizationId: string, id: string): Filter<KeyDocument> => ({
  _id: id,
  organizationId,
  revokedAt: null,
});

/** The key still as seen, in the write's own filter; an array matches only the same array. */
export const stillAsSeen = (seen: KeyAsSeen | undefined): Filter<KeyDocument> =>
  seen ? { ownerUserId: seen.ownerUserId, scopes: [...seen.scopes], updatedAt: seen.updatedAt } : {};
