import type { ConnectError } from "@connectrpc/connect";
import { adminError } from "./errors.js";

/**
 * A Connect JSON request message that does not decode, as an admin error: `invalid_argument`,
 * reason API_KEY_FIELD_INVALID and the field named, like every other bad field, rather than
 * Connect's bare message. Unknown fields are refused (not ignored) so that a misspelt setting
 * is never silently dropped; the error says so, since that is the surprise.
 *
 * The field is read from protobuf-es's wording, which names the unknown JSON key as sent, or
 * the field (by its proto name) whose value did not decode.
 */

const UNKNOWN_KEY = /^cannot decode message ([\w.]+) from JSON: key "(.*)" is unknown$/s;
const BAD_VALUE = /^cannot decode field [\w.]+\.(\w+) from JSON: /;

/** Field names quoted back are cut to this: the key is whatever the client sent. */
const MAX_QUOTED = 64;

export function jsonDecodeError(problem: Error): ConnectError {
  const unknown = UNKNOWN_KEY.exec(problem.message);
  if (unknown) {
    const field = unknown[2]!.slice(0, MAX_QUOTED);
    return adminError(
      "API_KEY_FIELD_INVALID",
      `${field}: unknown field of ${unknown[1]} (unknown fields are refused, so that a misspelt one is not silently ignored)`,
      { field },
    );
  }
  const bad = BAD_VALUE.exec(problem.message);
  if (bad) {
    const field = bad[1]!;
    // Long enough for an enum's list of values (src/server/enum-value-field.ts), still bounded.
    return adminError("API_KEY_FIELD_INVALID", `${field}: not a valid value for this field (${problem.message.slice(0, 400)})`, { field });
  }
  return adminError("API_KEY_FIELD_INVALID", `the request message does not decode: ${problem.message.slice(0, 200)}`);
}
