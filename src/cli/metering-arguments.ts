import { RefillInterval, type Credits, type NamedLimit } from "../../gen/keygate/v1/key_admin_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreditsSchema, NamedLimitSchema } from "../../gen/keygate/v1/key_admin_pb.js";
import { rateLimit } from "./arguments.js";
import { UsageError } from "./command.js";
import { PERIOD_NAME } from "./output.js";

/** Named limits, credits and meta as flags give them (`keygate identities`); anything else is a UsageError naming the flag. */

/** `burst=10/second` (also s, m, h, d). */
export function namedLimit(flag: string, raw: string): MessageInitShape<typeof NamedLimitSchema> {
  const at = raw.indexOf("=");
  if (at < 1) throw new UsageError(`${flag} must look like NAME=10/second; got ${JSON.stringify(raw)}`);
  const { rateLimit: limit, rateLimitPeriod } = rateLimit(flag, raw.slice(at + 1));
  if (rateLimitPeriod === undefined) throw new UsageError(`${flag} needs a rate such as ${raw.slice(0, at)}=10/second`);
  return { name: raw.slice(0, at), limit, period: rateLimitPeriod };
}

/** `key=value`, repeated into a map. */
export function meta(flag: string, raw: readonly string[]): Record<string, string> {
  const entries = raw.map((entry) => {
    const at = entry.indexOf("=");
    if (at < 1) throw new UsageError(`${flag} must look like KEY=VALUE; got ${JSON.stringify(entry)}`);
    return [entry.slice(0, at), entry.slice(at + 1)] as const;
  });
  return Object.fromEntries(entries);
}

/** `--credits N` with an optional `--refill N/daily` or `N/monthly[:DAY]`. */
export function credits(remaining: string, refill: string | undefined): MessageInitShape<typeof CreditsSchema> {
  if (!/^\d{1,13}$/.test(remaining)) throw new UsageError(`--credits must be a whole number; got ${JSON.stringify(remaining)}`);
  if (refill === undefined) return { remaining: BigInt(remaining) };
  const match = /^(\d{1,13})\/(daily|monthly)(?::(\d{1,2}))?$/.exec(refill.trim().toLowerCase());
  if (!match || (match[2] === "daily" && match[3] !== undefined)) {
    throw new UsageError(`--refill must look like 1000/daily or 1000/monthly:15 (the day of the month); got ${JSON.stringify(refill)}`);
  }
  const interval = match[2] === "daily" ? RefillInterval.DAILY : RefillInterval.MONTHLY;
  return { remaining: BigInt(remaining), refill: { amount: BigInt(match[1]!), interval, day: Number(match[3] ?? 0) } };
}

export const limitsText = (limits: readonly NamedLimit[]): string =>
  limits.map((limit) => `${limit.name}=${limit.limit}/${PERIOD_NAME[limit.period]}`).join(" ") || "-";

export function creditsText(given: Credits | undefined): string {
  if (!given) return "-";
  const { refill } = given;
  if (!refill) return String(given.remaining);
  const when = refill.interval === RefillInterval.DAILY ? "daily" : `monthly on day ${refill.day}`;
  return `${given.remaining} (refilled to ${refill.amount} ${when})`;
}
