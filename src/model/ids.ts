import { randomBytes } from "node:crypto";

/**
 * Ids are a type prefix and 26 Crockford base32 characters: 48 bits of milliseconds then 80
 * random bits (the ULID layout). Sorting ids sorts by creation time, which is what cursor
 * pagination walks; the randomness makes ids unguessable across tenants.
 */
/** `msg`: a webhook event (its `webhook-id`); `whe`: a webhook endpoint; `whd`: one delivery; `idt`: an identity. */
export type IdKind = "key" | "org" | "user" | "evt" | "msg" | "whe" | "whd" | "idt";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Per process on purpose: ids made in one process sort in the order they were made, whichever
// part of keygate made them (the ULID "monotonic" rule: same millisecond, random part + 1).
let lastMillis = -1;
let lastRandom: Buffer = Buffer.alloc(10);

function incremented(random: Buffer): Buffer {
  const next = Buffer.from(random);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] !== 0xff) {
      next[i] = next[i]! + 1;
      return next;
    }
    next[i] = 0;
  }
  return next;
}

function encode(millis: number, random: Buffer): string {
  let time = "";
  let t = millis;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (const byte of random) bits = (bits << 8n) | BigInt(byte);
  let rand = "";
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return time + rand;
}

/** A new id; ids made in the same millisecond by this process still sort in creation order. */
export function newId(kind: IdKind, now: number = Date.now()): string {
  if (now <= lastMillis) {
    lastRandom = incremented(lastRandom);
    return `${kind}_${encode(lastMillis, lastRandom)}`;
  }
  lastMillis = now;
  lastRandom = randomBytes(10);
  return `${kind}_${encode(now, lastRandom)}`;
}

const ID_PATTERN = /^(key|org|user|evt|msg|whe|whd|idt)_[0-9A-HJKMNP-TV-Z]{26}$/;

export function isId(kind: IdKind, candidate: string): boolean {
  return ID_PATTERN.test(candidate) && candidate.startsWith(`${kind}_`);
}
