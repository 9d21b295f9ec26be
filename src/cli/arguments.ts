import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Environment, KeyOrder, KeyState, KeyType, RateLimitPeriod, UsagePeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { isId, type IdKind } from "../model/ids.js";
import { utcMonth } from "../time/utc-days.js";
import { UsageError } from "./command.js";

/** Flag values as the API wants them; anything else is a UsageError naming the flag. */

const RATE_PERIODS: Record<string, RateLimitPeriod> = {
  s: RateLimitPeriod.SECOND,
  second: RateLimitPeriod.SECOND,
  m: RateLimitPeriod.MINUTE,
  min: RateLimitPeriod.MINUTE,
  minute: RateLimitPeriod.MINUTE,
  h: RateLimitPeriod.HOUR,
  hour: RateLimitPeriod.HOUR,
  d: RateLimitPeriod.DAY,
  day: RateLimitPeriod.DAY,
};

/** `100/minute` (also s, m, h, d); `0` gives the key its owner's bound (never unlimited). */
export function rateLimit(flag: string, raw: string): { rateLimit: number; rateLimitPeriod?: RateLimitPeriod } {
  if (raw.trim() === "0") return { rateLimit: 0 };
  const match = /^(\d{1,9})\/([a-z]+)$/.exec(raw.trim().toLowerCase());
  const period = match ? RATE_PERIODS[match[2]!] : undefined;
  if (!match || period === undefined || Number(match[1]) < 1) {
    throw new UsageError(`${flag} must look like 100/minute (second, minute, hour or day), or 0 for the owner's bound; got ${JSON.stringify(raw)}`);
  }
  return { rateLimit: Number(match[1]), rateLimitPeriod: period };
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** Seconds from `3600`, `90s`, `15m`, `1h` or `7d`. */
export function durationSeconds(flag: string, raw: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(raw.trim());
  if (!match) throw new UsageError(`${flag} must be seconds or a duration like 90s, 15m, 1h, 7d; got ${JSON.stringify(raw)}`);
  return Number(match[1]) * DURATION_UNITS[match[2] || "s"]!;
}

/** An ISO 8601 date or date and time (UTC unless it says otherwise). */
export function instant(flag: string, raw: string): Timestamp {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00Z` : raw;
  const date = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(date.getTime())) {
    throw new UsageError(`${flag} must be an ISO 8601 date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z; got ${JSON.stringify(raw)}`);
  }
  return timestampFromDate(date);
}

function oneOf<T>(flag: string, raw: string, choices: Record<string, T>): T {
  const value = choices[raw.toLowerCase()];
  if (value === undefined) throw new UsageError(`${flag} must be one of ${Object.keys(choices).join(", ")}; got ${JSON.stringify(raw)}`);
  return value;
}

export const environment = (raw: string) => oneOf("--environment", raw, { live: Environment.LIVE, test: Environment.TEST });
export const keyType = (raw: string) => oneOf("--type", raw, { user: KeyType.USER, shared: KeyType.SHARED });
export const keyStateFilter = (raw: string) =>
  oneOf("--state", raw, { active: KeyState.ACTIVE, disabled: KeyState.DISABLED, revoked: KeyState.REVOKED, expired: KeyState.EXPIRED });
export const keyOrder = (raw: string) =>
  oneOf("--order", raw, { newest: KeyOrder.CREATED_DESC, oldest: KeyOrder.CREATED_ASC, name: KeyOrder.NAME_ASC, "name-desc": KeyOrder.NAME_DESC });
export const usagePeriod = (raw: string) => oneOf("--period", raw, { day: UsagePeriod.DAY, week: UsagePeriod.WEEK, month: UsagePeriod.MONTH });

/** A page size and the like: 1 to `max` (the most the RPC accepts). */
export function positiveInt(flag: string, raw: string | undefined, fallback: number, max = 1000): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}; got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export function month(raw: string | undefined, nowMs = Date.now()): string {
  const value = raw ?? utcMonth(nowMs);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value)) throw new UsageError(`--month must be YYYY-MM; got ${JSON.stringify(raw)}`);
  return value;
}

/** An id of one kind (`user_…`, `key_…`), refused here rather than by the server. */
export function id(flag: string, kind: IdKind, raw: string): string {
  if (!isId(kind, raw)) throw new UsageError(`${flag} must be a ${kind} id (${kind}_ and 26 letters and digits); got ${JSON.stringify(raw)}`);
  return raw;
}
