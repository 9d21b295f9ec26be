import { randomBytes, timingSafeEqual, createHmac } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * API key secrets: `sk_live_` or `sk_test_`, 40 random base62 characters, then a fixed-width
 * base62 CRC32 of the random part. The checksum lets Check reject a mistyped or made-up key
 * without touching the store, and the fixed shape lets secret scanners recognise a leaked key.
 */
export type Environment = "live" | "test";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LENGTH = 40;
// 62^6 > 2^32, so six characters hold any CRC32.
const CHECKSUM_LENGTH = 6;
const PREFIX_LENGTH = "sk_live_".length;
export const SECRET_LENGTH = PREFIX_LENGTH + RANDOM_LENGTH + CHECKSUM_LENGTH;
export const KEY_PREFIX_LENGTH = 12;

/**
 * A secret's shape as a regular expression's source, for secret scanners (GitHub's partner program,
 * GitLab's and others' custom patterns): the same text keygate checks secrets against. The checksum
 * is no regular language: keygate checks it when a scanner reports a match.
 */
export const SECRET_SCANNER_PATTERN = `sk_(?:live|test)_[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}`;
/** The token type secret scanners report keygate's secrets as. */
export const SECRET_TOKEN_TYPE = "keygate_api_key";

const SECRET_PATTERN = new RegExp(`^${SECRET_SCANNER_PATTERN}$`);

export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    // Rejection sampling keeps every character equally likely (248 = 4 * 62).
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function checksumOf(randomPart: string): string {
  let value = crc32(randomPart);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export function generateSecret(environment: Environment): string {
  const randomPart = randomBase62(RANDOM_LENGTH);
  return `sk_${environment}_${randomPart}${checksumOf(randomPart)}`;
}

/** True when the string has the secret's shape and its checksum matches. */
export function isWellFormedSecret(candidate: string): boolean {
  if (candidate.length !== SECRET_LENGTH || !SECRET_PATTERN.test(candidate)) return false;
  const randomPart = candidate.slice(PREFIX_LENGTH, PREFIX_LENGTH + RANDOM_LENGTH);
  return checksumOf(randomPart) === candidate.slice(PREFIX_LENGTH + RANDOM_LENGTH);
}

// A secret's prefix and whatever follows it, complete or not (a truncated or mistyped secret is
// still most of one).
const SECRET_SHAPED = /sk_(?:live|test)_[0-9A-Za-z]*/g;

/** True when the value holds something shaped like a secret, e.g. one pasted where an id belongs. */
export function looksLikeSecret(value: string): boolean {
  return /sk_(?:live|test)_/.test(value);
}

/** `text` with everything shaped like a secret replaced, for messages that quote request values. */
export function redactSecrets(text: string): string {
  return looksLikeSecret(text) ? text.replace(SECRET_SHAPED, "[redacted secret]") : text;
}

/** Each value redacted like redactSecrets (error metadata, audit details). */
export function redactSecretValues(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, redactSecrets(value)]));
}

export function keyPrefixOf(secret: string): string {
  return secret.slice(0, KEY_PREFIX_LENGTH);
}

/**
 * Secrets are stored and looked up only as HMAC-SHA-256 under a server-side pepper, so a copy
 * of the database alone cannot be used to test guessed keys. Lookups go through the hash, so no
 * secret is ever compared character by character.
 */
export class SecretHasher {
  readonly #pepper: Buffer;

  constructor(pepper: string) {
    this.#pepper = Buffer.from(pepper, "utf8");
  }

  hash(secret: string): string {
    return createHmac("sha256", this.#pepper).update(secret).digest("base64url");
  }

  /** Constant-time comparison of two hashes. */
  static sameHash(a: string, b: string): boolean {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
  }
}
