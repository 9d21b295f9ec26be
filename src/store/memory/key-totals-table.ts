import { grown } from "../../model/typed-array.js";
import type { KeyLifetimeUsage } from "../usage-repository.js";
import { stringInterner } from "./interner.js";
import { crockfordKeyId, PackedTextColumn } from "./packed-text-column.js";
import { RowsByCode } from "./rows-by-code.js";

/**
 * One row per organization and key that was ever used: the key id packed (17 bytes), the
 * organization interned (4), the lifetime totals in two numbers. Its row number is what the key's
 * days refer to, so each key's id is kept once however many days it has. Rows are never dropped:
 * lifetime totals outlive every retention, as on MongoDB.
 */
const INITIAL_ROWS = 1024;

export class KeyTotalsTable {
  readonly #organizations = stringInterner();
  #organization = new Uint32Array(INITIAL_ROWS);
  readonly #ids = new PackedTextColumn(crockfordKeyId, INITIAL_ROWS);
  #requests = new Float64Array(INITIAL_ROWS);
  /** NaN for a key never allowed a request. */
  #lastUsedAtMs = new Float64Array(INITIAL_ROWS);
  readonly #rowByKey = new RowsByCode();
  #rows = 0;

  find(organizationId: string, keyId: string): number | undefined {
    return this.#rowByKey.find(keyId, (row) => this.#ids.get(row) === keyId && this.organizationId(row) === organizationId);
  }

  /** The key's row, made (with zero totals) when the key has none yet. */
  rowOf(organizationId: string, keyId: string): number {
    const found = this.find(organizationId, keyId);
    if (found !== undefined) return found;
    const row = this.#rows++;
    if (row === this.#organization.length) this.#grow(row * 2);
    this.#organization[row] = this.#organizations.hold(organizationId);
    this.#ids.set(row, keyId);
    this.#requests[row] = 0;
    this.#lastUsedAtMs[row] = Number.NaN;
    this.#rowByKey.add(keyId, row);
    return row;
  }

  keyId(row: number): string {
    return this.#ids.get(row);
  }

  organizationId(row: number): string {
    return this.#organizations.get(this.#organization[row]!);
  }

  add(row: number, requests: number, lastUsedAtMs: number | null): void {
    this.#requests[row]! += requests;
    // Math.max with NaN is NaN, so an empty last use is replaced rather than compared.
    if (lastUsedAtMs !== null && !(lastUsedAtMs <= this.#lastUsedAtMs[row]!)) this.#lastUsedAtMs[row] = lastUsedAtMs;
  }

  totals(row: number): KeyLifetimeUsage {
    const lastUsedAtMs = this.#lastUsedAtMs[row]!;
    return { requests: this.#requests[row]!, lastUsedAtMs: Number.isNaN(lastUsedAtMs) ? null : lastUsedAtMs };
  }

  #grow(rows: number): void {
    this.#organization = grown(this.#organization, new Uint32Array(rows));
    this.#requests = grown(this.#requests, new Float64Array(rows));
    this.#lastUsedAtMs = grown(this.#lastUsedAtMs, new Float64Array(rows));
    this.#ids.grow(rows);
  }
}
