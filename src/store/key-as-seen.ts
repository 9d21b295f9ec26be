import type { KeyRecord } from "../model/records.js";

/**
 * A key as an admin decision saw it. The policy decides on a key read before the write (its owner
 * and scopes); a write given this happens only while the key is still so, checked in the same
 * atomic step, so a more privileged caller re-owning or broadening the key in between cannot have
 * a less privileged one's decision applied to the key as it is now. Every write that changes a
 * key sets `updatedAt`, but two may share a millisecond (or a test clock), so the fields the policy
 * weighs are compared too.
 */
export interface KeyAsSeen {
  ownerUserId: string;
  scopes: readonly string[];
  updatedAt: Date;
}

export const asSeen = (key: KeyRecord): KeyAsSeen => ({
  ownerUserId: key.ownerUserId,
  scopes: [...key.scopes],
  updatedAt: new Date(key.updatedAt),
});

export function isAsSeen(key: KeyRecord, seen: KeyAsSeen): boolean {
  return (
    key.ownerUserId === seen.ownerUserId &&
    key.updatedAt.getTime() === seen.updatedAt.getTime() &&
    key.scopes.length === seen.scopes.length &&
    key.scopes.every((scope, i) => scope === seen.scopes[i])
  );
}

/** A write given a KeyAsSeen found the key changed since: nothing was written; decide again. */
export class KeyChangedError extends Error {
  override name = "KeyChangedError";

  constructor(readonly keyId: string) {
    super(`key ${keyId} changed since it was read; nothing was written`);
  }
}
