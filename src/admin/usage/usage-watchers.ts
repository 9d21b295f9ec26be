import { Code } from "@connectrpc/connect";
import { adminError } from "../errors.js";
import type { Clock } from "../../time/clock.js";
import type { UsageRepository } from "../../store/usage-repository.js";
import { addTally, emptyTally, type UsageTally } from "../../model/usage-tally.js";
import { utcDay } from "../../time/utc-days.js";

/**
 * The WatchUsage streams open in this process. Each one is a standing cost (a flush listener, a
 * heartbeat timer, a store read per event), so they are capped per caller key and per
 * organization (per replica). And the streams watching the same scope (an organization, or one of
 * its keys) share one read of today's stored totals per flush: N dashboards on one organization
 * cost one store query per flush, not N. Between flushes of this process the shared totals serve
 * for at most `maxAgeMs`, after which a heartbeat reads again and sees other replicas' flushes.
 */

export interface UsageWatchersOptions {
  usage: Pick<UsageRepository, "days">;
  clock: Clock;
  maxStreamsPerKey: number;
  maxStreamsPerOrganization: number;
  maxAgeMs: number;
}

/** One stream's place among the watchers; close it when the stream ends. */
export interface Watch {
  /** Today's stored totals of the stream's scope, shared with the other streams of the scope. */
  today(): Promise<UsageTally>;
  /** This process flushed usage in the scope: the next today() reads the store. */
  flushed(): void;
  close(): void;
}

interface Scope {
  organizationId: string;
  keyId: string;
  streams: number;
  /** The last read, while it serves. */
  read: { day: string; atMs: number; totals: Promise<UsageTally> } | undefined;
}

export class UsageWatchers {
  readonly #options: UsageWatchersOptions;
  readonly #perKey = new Map<string, number>();
  readonly #perOrganization = new Map<string, number>();
  readonly #scopes = new Map<string, Scope>();

  constructor(options: UsageWatchersOptions) {
    this.#options = options;
  }

  /**
   * Takes a place for a stream of `callerKeyId` watching `organizationId` (or its key `keyId`,
   * empty for the whole organization); throws `resource_exhausted` when a cap is reached.
   */
  open(callerKeyId: string, organizationId: string, keyId: string): Watch {
    const { maxStreamsPerKey, maxStreamsPerOrganization } = this.#options;
    if ((this.#perKey.get(callerKeyId) ?? 0) >= maxStreamsPerKey) {
      throw tooMany("usage_watch_streams_per_key", maxStreamsPerKey, "per key", "KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY");
    }
    if ((this.#perOrganization.get(organizationId) ?? 0) >= maxStreamsPerOrganization) {
      throw tooMany("usage_watch_streams_per_organization", maxStreamsPerOrganization, "per organization", "KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION");
    }
    increment(this.#perKey, callerKeyId, 1);
    increment(this.#perOrganization, organizationId, 1);
    const id = `${organizationId}\n${keyId}`;
    let scope = this.#scopes.get(id);
    if (scope === undefined) this.#scopes.set(id, (scope = { organizationId, keyId, streams: 0, read: undefined }));
    scope.streams++;
    let closed = false;
    return {
      today: () => this.#today(scope),
      flushed: () => (scope.read = undefined),
      close: () => {
        if (closed) return;
        closed = true;
        increment(this.#perKey, callerKeyId, -1);
        increment(this.#perOrganization, organizationId, -1);
        if (--scope.streams === 0) this.#scopes.delete(id);
      },
    };
  }

  #today(scope: Scope): Promise<UsageTally> {
    const nowMs = this.#options.clock.now();
    const day = utcDay(nowMs);
    const read = scope.read;
    if (read !== undefined && read.day === day && nowMs - read.atMs < this.#options.maxAgeMs) return read.totals;
    const totals = this.#read(scope, day);
    const current = { day, atMs: nowMs, totals };
    scope.read = current;
    // A failed read is not shared beyond the streams already waiting on it.
    totals.catch(() => {
      if (scope.read === current) scope.read = undefined;
    });
    return totals;
  }

  async #read(scope: Scope, day: string): Promise<UsageTally> {
    const query = { ...(scope.keyId !== "" && { keyIds: [scope.keyId] }), withEndpoints: false };
    const days = await this.#options.usage.days(scope.organizationId, { from: day, to: day }, query);
    const totals = emptyTally();
    for (const usage of days) addTally(totals, usage.tally);
    return totals;
  }
}

function increment(counts: Map<string, number>, id: string, by: number): void {
  const count = (counts.get(id) ?? 0) + by;
  if (count === 0) counts.delete(id);
  else counts.set(id, count);
}

function tooMany(limit: string, max: number, per: string, setting: string) {
  return adminError(
    "API_KEY_LIMIT_EXCEEDED",
    `at most ${max} WatchUsage streams ${per} may be open at once on this server (${setting}); close one first`,
    { limit, max: String(max) },
    Code.ResourceExhausted,
  );
}
