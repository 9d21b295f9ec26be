import type { Environment } from "../../model/secret.js";
import type { KeyRateLimit, KeyRecord, KeyType, PreviousSecret, SealedSecret } from "../../model/records.js";
import type { Credits, NamedLimit } from "../../model/identities.js";
import { frozenInterner, stringInterner } from "./interner.js";
import { base64urlSha256, crockfordKeyId, PackedTextColumn, shortLatin1 } from "./packed-text-column.js";

/**
 * The embedded store's keys, one row per key in columns, in a few hundred bytes a key where a
 * KeyRecord object graph (Dates, arrays, a rate-limit object, its own copy of every string) took
 * a kilobyte or more. Numbers and flags sit in typed arrays; the fields many keys share
 * (organization, owner, creator, scopes, allow-list, rate limit, environment, type) are interned
 * and cost four bytes each; the id, the secret hash and the key prefix are packed into bytes; the
 * key's other strings (name, description) are kept as given. A KeyRecord exists only while a caller holds one: `read` builds a fresh one
 * each time, so a caller may change what it got without touching what is stored.
 */

/** Column offsets of the interned fields, per row. */
const ORGANIZATION = 0;
const OWNER = 1;
const CREATED_BY = 2;
const ENVIRONMENT = 3;
const KEY_TYPE = 4;
const SCOPES = 5;
const ALLOW_IPS = 6;
const RATE_LIMIT = 7;
const REFS = 8;

/** Column offsets of the times (epoch milliseconds), per row. */
const CREATED_AT = 0;
const UPDATED_AT = 1;
const REVOKED_AT = 2;
const EXPIRES_AT = 3;
const TIMES = 4;

/** Flag bits: which nullable fields hold a value, and the key's one boolean. */
const ACTIVE = 1;
const REVOKED = 2;
const EXPIRES = 4;
const RATE_LIMITED = 8;

const INITIAL_ROWS = 1024;

interface StoredPrevious {
  hash: string;
  expiresAtMs: number;
}

export class KeyTable {
  readonly #strings = stringInterner();
  readonly #lists = frozenInterner<readonly string[]>((list) => Object.freeze([...list]));
  readonly #rates = frozenInterner<KeyRateLimit>(({ limit, period }) => Object.freeze({ limit, period }));

  #refs = new Uint32Array(INITIAL_ROWS * REFS);
  #times = new Float64Array(INITIAL_ROWS * TIMES);
  #flags = new Uint8Array(INITIAL_ROWS);
  readonly #ids = new PackedTextColumn(crockfordKeyId, INITIAL_ROWS);
  readonly #hashes = new PackedTextColumn(base64urlSha256, INITIAL_ROWS);
  readonly #names: (string | undefined)[] = [];
  readonly #descriptions: (string | undefined)[] = [];
  readonly #prefixes = new PackedTextColumn(shortLatin1, INITIAL_ROWS);
  /** Only the few keys in a rotation's grace have a previous secret, only recoverable keys a sealed one. */
  readonly #previous = new Map<number, StoredPrevious>();
  readonly #sealed = new Map<number, Readonly<SealedSecret>>();
  /** Only the keys given named limits, credits or an identity (issue 19) hold these. */
  readonly #limits = new Map<number, readonly NamedLimit[]>();
  readonly #credits = new Map<number, Credits>();
  readonly #identities = new Map<number, string>();
  readonly #freeRows: number[] = [];
  #rows = 0;

  /** Stores a new row and returns its number. */
  insert(key: KeyRecord): number {
    const row = this.#freeRows.pop() ?? this.#newRow();
    this.#fill(row, key);
    return row;
  }

  /** Replaces what a row holds with the key as given (the caller keeps its object). */
  write(row: number, key: KeyRecord): void {
    this.#releaseShared(row);
    this.#fill(row, key);
  }

  /** Forgets a row; its number may be given to a later key. */
  remove(row: number): void {
    this.#releaseShared(row);
    this.#ids.clear(row);
    this.#hashes.clear(row);
    this.#prefixes.clear(row);
    this.#names[row] = this.#descriptions[row] = undefined;
    this.#previous.delete(row);
    this.#sealed.delete(row);
    this.#setIdentityFields(row, {});
    this.#freeRows.push(row);
  }

  /** A fresh KeyRecord of the row: nothing in it is shared with the table or an earlier read. */
  read(row: number): KeyRecord {
    const refs = row * REFS;
    const times = row * TIMES;
    const flags = this.#flags[row]!;
    const previous = this.#previous.get(row);
    const sealed = this.#sealed.get(row);
    const rate = flags & RATE_LIMITED ? this.#rates.get(this.#refs[refs + RATE_LIMIT]!) : null;
    const key: KeyRecord = {
      id: this.#ids.get(row),
      organizationId: this.#strings.get(this.#refs[refs + ORGANIZATION]!),
      name: this.#names[row]!,
      description: this.#descriptions[row]!,
      keyPrefix: this.#prefixes.get(row),
      secretHash: this.#hashes.get(row),
      previousSecret: previous ? { hash: previous.hash, expiresAt: new Date(previous.expiresAtMs) } : null,
      environment: this.#strings.get(this.#refs[refs + ENVIRONMENT]!) as Environment,
      keyType: this.#strings.get(this.#refs[refs + KEY_TYPE]!) as KeyType,
      ownerUserId: this.#strings.get(this.#refs[refs + OWNER]!),
      scopes: [...this.#lists.get(this.#refs[refs + SCOPES]!)],
      allowIps: [...this.#lists.get(this.#refs[refs + ALLOW_IPS]!)],
      rateLimit: rate ? { limit: rate.limit, period: rate.period } : null,
      isActive: (flags & ACTIVE) !== 0,
      revokedAt: flags & REVOKED ? new Date(this.#times[times + REVOKED_AT]!) : null,
      expiresAt: flags & EXPIRES ? new Date(this.#times[times + EXPIRES_AT]!) : null,
      createdAt: new Date(this.#times[times + CREATED_AT]!),
      createdBy: this.#strings.get(this.#refs[refs + CREATED_BY]!),
      updatedAt: new Date(this.#times[times + UPDATED_AT]!),
    };
    if (sealed) key.encryptedSecret = { ...sealed };
    const limits = this.#limits.get(row);
    if (limits) key.limits = limits.map((limit) => ({ ...limit }));
    const credits = this.#credits.get(row);
    if (credits) key.credits = copyCredits(credits);
    const identityId = this.#identities.get(row);
    if (identityId !== undefined) key.identityId = identityId;
    return key;
  }

  /*
   * What the scans over many keys ask of a row, without building its record.
   */

  id(row: number): string {
    return this.#ids.get(row);
  }

  /** Whether the row's key is found by this hash: its current secret's or its previous one's. */
  isFoundBy(row: number, secretHash: string): boolean {
    return this.#hashes.get(row) === secretHash || this.#previous.get(row)?.hash === secretHash;
  }

  organizationId(row: number): string {
    return this.#strings.get(this.#refs[row * REFS + ORGANIZATION]!);
  }

  ownerUserId(row: number): string {
    return this.#strings.get(this.#refs[row * REFS + OWNER]!);
  }

  name(row: number): string {
    return this.#names[row]!;
  }

  keyPrefix(row: number): string {
    return this.#prefixes.get(row);
  }

  isActive(row: number): boolean {
    return (this.#flags[row]! & ACTIVE) !== 0;
  }

  isRevoked(row: number): boolean {
    return (this.#flags[row]! & REVOKED) !== 0;
  }

  /** Enabled and not revoked. */
  isUsable(row: number): boolean {
    return (this.#flags[row]! & (ACTIVE | REVOKED)) === ACTIVE;
  }

  /** When the row's key expires (epoch milliseconds); null when it never does. */
  expiresAtMs(row: number): number | null {
    return this.#flags[row]! & EXPIRES ? this.#times[row * TIMES + EXPIRES_AT]! : null;
  }

  createdAtMs(row: number): number {
    return this.#times[row * TIMES + CREATED_AT]!;
  }

  /** The identity the row's key is tied to; undefined: none. */
  identityId(row: number): string | undefined {
    return this.#identities.get(row);
  }

  /** The rows whose secret is sealed, with the encryption key each is sealed under. */
  *sealedRows(): IterableIterator<[row: number, keyId: string]> {
    for (const [row, sealed] of this.#sealed) yield [row, sealed.keyId];
  }

  #newRow(): number {
    const row = this.#rows++;
    if (row === this.#flags.length) this.#grow();
    return row;
  }

  /** Doubles the typed columns; the other string columns are JavaScript arrays and grow by themselves. */
  #grow(): void {
    const rows = this.#flags.length * 2;
    const refs = new Uint32Array(rows * REFS);
    refs.set(this.#refs);
    this.#refs = refs;
    const times = new Float64Array(rows * TIMES);
    times.set(this.#times);
    this.#times = times;
    const flags = new Uint8Array(rows);
    flags.set(this.#flags);
    this.#flags = flags;
    this.#ids.grow(rows);
    this.#hashes.grow(rows);
    this.#prefixes.grow(rows);
  }

  #fill(row: number, key: KeyRecord): void {
    const refs = row * REFS;
    const times = row * TIMES;
    this.#refs[refs + ORGANIZATION] = this.#strings.hold(key.organizationId);
    this.#refs[refs + OWNER] = this.#strings.hold(key.ownerUserId);
    this.#refs[refs + CREATED_BY] = this.#strings.hold(key.createdBy);
    this.#refs[refs + ENVIRONMENT] = this.#strings.hold(key.environment);
    this.#refs[refs + KEY_TYPE] = this.#strings.hold(key.keyType);
    this.#refs[refs + SCOPES] = this.#lists.hold(key.scopes);
    this.#refs[refs + ALLOW_IPS] = this.#lists.hold(key.allowIps);
    if (key.rateLimit) this.#refs[refs + RATE_LIMIT] = this.#rates.hold(key.rateLimit);
    this.#times[times + CREATED_AT] = key.createdAt.getTime();
    this.#times[times + UPDATED_AT] = key.updatedAt.getTime();
    this.#times[times + REVOKED_AT] = key.revokedAt?.getTime() ?? 0;
    this.#times[times + EXPIRES_AT] = key.expiresAt?.getTime() ?? 0;
    this.#flags[row] =
      (key.isActive ? ACTIVE : 0) | (key.revokedAt ? REVOKED : 0) | (key.expiresAt ? EXPIRES : 0) | (key.rateLimit ? RATE_LIMITED : 0);
    this.#ids.set(row, key.id);
    this.#hashes.set(row, key.secretHash);
    this.#names[row] = key.name;
    this.#descriptions[row] = key.description;
    this.#prefixes.set(row, key.keyPrefix);
    this.#setPrevious(row, key.previousSecret);
    this.#setSealed(row, key.encryptedSecret);
    this.#setIdentityFields(row, key);
  }

  /** A patch may carry null for a field it removes: null and absent are both none. */
  #setIdentityFields(row: number, key: Pick<KeyRecord, "limits" | "credits" | "identityId">): void {
    if (key.limits?.length) this.#limits.set(row, Object.freeze(key.limits.map((limit) => ({ ...limit }))));
    else this.#limits.delete(row);
    if (key.credits) this.#credits.set(row, copyCredits(key.credits));
    else this.#credits.delete(row);
    if (key.identityId) this.#identities.set(row, key.identityId);
    else this.#identities.delete(row);
  }

  #setPrevious(row: number, previous: PreviousSecret | null): void {
    if (previous) this.#previous.set(row, { hash: previous.hash, expiresAtMs: previous.expiresAt.getTime() });
    else this.#previous.delete(row);
  }

  #setSealed(row: number, sealed: SealedSecret | undefined): void {
    if (sealed) this.#sealed.set(row, Object.freeze({ ...sealed }));
    else this.#sealed.delete(row);
  }

  /** Gives back the interned values the row holds, before it is refilled or forgotten. */
  #releaseShared(row: number): void {
    const refs = row * REFS;
    for (const field of [ORGANIZATION, OWNER, CREATED_BY, ENVIRONMENT, KEY_TYPE]) this.#strings.release(this.#refs[refs + field]!);
    this.#lists.release(this.#refs[refs + SCOPES]!);
    this.#lists.release(this.#refs[refs + ALLOW_IPS]!);
    if (this.#flags[row]! & RATE_LIMITED) this.#rates.release(this.#refs[refs + RATE_LIMIT]!);
    this.#flags[row] = 0;
  }
}

const copyCredits = (credits: Credits): Credits => ({
  remaining: credits.remaining,
  refill: credits.refill && { ...credits.refill },
  setAt: new Date(credits.setAt),
});
