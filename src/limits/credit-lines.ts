import type { Credits } from "../model/identities.js";
import { creditWindowAt } from "./credit-windows.js";

/**
 * The credit balances one Check spends its cost on (issue 19): the key's own, then its identity's
 * (every key of the identity spends the same one). Each is counted in a bucket named by whose
 * balance it is, when it was set (`setAt`: a balance an admin sets starts a fresh count) and the
 * window (credit-windows.ts: each refill is a new window, so a new count), counted by LocalLimits
 * in this process and by LeasedLimits in the store's budget windows, which these name explicitly.
 * Response-reported costs (the access-log debit) spend the same buckets (CheckLimits.debitCredits).
 */

export type CreditOwner = "key" | "identity";

export interface CreditLine {
  readonly owner: CreditOwner;
  readonly bucket: string;
  readonly startMs: number;
  /** The next refill; null: none comes. */
  readonly endMs: number | null;
  /** What the window allows (the balance set, or the refill amount). */
  readonly limit: number;
}

/**
 * A balance one Check looked at and what was left of it: after counting the Check, when admitted;
 * as the Check found it, when this balance denied it. What `key.credits_low` is judged on
 * (src/webhooks/schedule/credit-notes.ts).
 */
export interface CreditBalance {
  readonly line: CreditLine;
  readonly left: number;
}

/** The balances of a Check by a key without credits (most): shared, so admitting it allocates none. */
export const NO_CREDIT_BALANCES: readonly CreditBalance[] = Object.freeze([]);

/** What the credit lines read of a key. */
export interface CreditedKey {
  readonly id: string;
  readonly organizationId: string;
  readonly credits?: Credits | undefined;
}

/** What the credit lines read of an identity. */
export interface CreditedIdentity {
  readonly id: string;
  readonly credits?: Credits | null;
}

export function keyCreditBucket(keyId: string, credits: Credits, windowStartMs: number): string {
  return `credits/key/${keyId}/${credits.setAt.getTime()}/${windowStartMs}`;
}

export function identityCreditBucket(organizationId: string, identityId: string, credits: Credits, windowStartMs: number): string {
  return `credits/identity/${organizationId}/${identityId}/${credits.setAt.getTime()}/${windowStartMs}`;
}

function line(owner: CreditOwner, credits: Credits, nowMs: number, bucketAt: (windowStartMs: number) => string): CreditLine {
  const window = creditWindowAt(credits, nowMs);
  return { owner, bucket: bucketAt(window.startMs), startMs: window.startMs, endMs: window.endMs, limit: window.limit };
}

/** The key's own credit line at `nowMs`; null when it holds no credits. */
export function keyCreditLine(key: CreditedKey, nowMs: number): CreditLine | null {
  const own = key.credits;
  return own === undefined ? null : line("key", own, nowMs, (startMs) => keyCreditBucket(key.id, own, startMs));
}

/** The identity's credit line at `nowMs`; null when it holds no credits. */
export function identityCreditLine(organizationId: string, identity: CreditedIdentity, nowMs: number): CreditLine | null {
  const shared = identity.credits ?? null;
  return shared === null ? null : line("identity", shared, nowMs, (startMs) => identityCreditBucket(organizationId, identity.id, shared, startMs));
}

/** The key's and its identity's credit lines at `nowMs`, in that order; empty when neither holds credits (most keys). */
export function creditLinesAt(key: CreditedKey, identity: CreditedIdentity | null, nowMs: number): CreditLine[] {
  const lines: CreditLine[] = [];
  const own = keyCreditLine(key, nowMs);
  if (own !== null) lines.push(own);
  const shared = identity === null ? null : identityCreditLine(key.organizationId, identity, nowMs);
  if (shared !== null) lines.push(shared);
  return lines;
}
