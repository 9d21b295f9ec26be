import { DENIAL_CODES, type DenialCode } from "./denials.js";

/** Denials that come before any key is known have no key to count for. */
const KEYLESS_DENIALS = ["PATH_REJECTED", "API_KEY_MISSING", "API_KEY_INVALID"] as const;
type KeyedDenial = Exclude<DenialCode, (typeof KEYLESS_DENIALS)[number]>;
const isKeyed = (code: DenialCode): code is KeyedDenial => !(KEYLESS_DENIALS as readonly DenialCode[]).includes(code);

/** A decision for a known key: allowed, or one of Check's denials (src/model/denials.ts). */
export type CheckOutcome = "allowed" | KeyedDenial;

export const CHECK_OUTCOMES: readonly CheckOutcome[] = ["allowed", ...DENIAL_CODES.filter(isKeyed)];

/** The outcomes that answer 429: the key's and its identity's limits and credits, and the organization's quota. */
export const THROTTLED_OUTCOMES: readonly CheckOutcome[] = ["RATE_LIMITED", "QUOTA_EXCEEDED", "CREDITS_EXHAUSTED"];

