import { AllowList } from "../net/ip-allow-list.js";
import type { KeyRateLimit } from "../model/records.js";
import { InternTable } from "./intern-table.js";
import { ScopeSet } from "./scope-set.js";

/**
 * The parts of a cached key that many keys have alike, each made once and shared: the scope
 * set, the compiled allow-list and the rate limit. Keys of a platform are cut from a few
 * templates (the same scopes, the office's CIDRs, the plan's limit), so these are a few dozen
 * objects however many keys are cached. A part is interned under a canonical text of the list as
 * the record holds it (JSON, so no separator inside an entry can make two lists look alike).
 */

// Rough heap cost of a part: its object, its row in the table (map entry, canonical text, weak
// reference, finalizer cell, share), and per list item the string and its slot.
const PART_BYTES = 400;
const PER_SCOPE_BYTES = 80;
/** A parsed CIDR: its object and byte array. */
const PER_CIDR_BYTES = 160;
const PER_CHARACTER_BYTES = 2;

export class SharedKeyParts {
  readonly #scopes = new InternTable<ScopeSet>();
  readonly #allowLists = new InternTable<AllowList>();
  readonly #rateLimits = new InternTable<Readonly<KeyRateLimit>>();

  scopeSet(scopes: readonly string[]): ScopeSet {
    const canonical = JSON.stringify(scopes);
    return this.#scopes.intern(canonical, () => new ScopeSet(scopes), PART_BYTES + scopes.length * PER_SCOPE_BYTES + canonical.length * 2 * PER_CHARACTER_BYTES);
  }

  allowList(allowIps: readonly string[]): AllowList {
    const canonical = JSON.stringify(allowIps);
    return this.#allowLists.intern(canonical, () => AllowList.parse(allowIps), PART_BYTES + allowIps.length * PER_CIDR_BYTES + canonical.length * PER_CHARACTER_BYTES);
  }

  /** One frozen object per distinct rule: the limiters compare rules by identity to reuse what they built for one. */
  rateLimit(rule: KeyRateLimit | null): Readonly<KeyRateLimit> | null {
    if (rule === null) return null;
    const { limit, period } = rule;
    return this.#rateLimits.intern(`${limit}/${period}`, () => Object.freeze({ limit, period }), PART_BYTES);
  }

  /** What a key holding these parts is charged for them (its share of each). */
  shareOf(scopes: ScopeSet, allowList: AllowList, rateLimit: Readonly<KeyRateLimit> | null): number {
    return this.#scopes.shareOf(scopes) + this.#allowLists.shareOf(allowList) + (rateLimit === null ? 0 : this.#rateLimits.shareOf(rateLimit));
  }
}
