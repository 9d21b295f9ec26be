import { fieldError } from "./errors.js";

/**
 * The request header a client sends a change RPC's idempotency key in: an HTTP header over
 * Connect and gRPC-Web, metadata over gRPC. Chosen by the client, once per intended change (a
 * random UUID, say) and sent again unchanged on every retry of that change.
 */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

const MAX_LENGTH = 255;
/** Printable ASCII, space to tilde: what every transport carries in a header unchanged. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The request's idempotency key; undefined when it sent none. A malformed one is refused
 * (`invalid_argument`, field `idempotency-key`) without quoting it: the value is the client's
 * key to its receipt, and errors reach logs.
 */
export function idempotencyKeyOf(header: Headers): string | undefined {
  const value = header.get(IDEMPOTENCY_KEY_HEADER);
  if (value === null) return undefined;
  if (value.length === 0 || value.length > MAX_LENGTH || !PRINTABLE_ASCII.test(value)) {
    throw fieldError(IDEMPOTENCY_KEY_HEADER, `must be 1 to ${MAX_LENGTH} printable ASCII characters`);
  }
  return value;
}
