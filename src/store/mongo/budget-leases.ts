import type { Collection, Document, IndexDescription } from "mongodb";
import { EXPLICIT_WINDOW_RETENTION_MS, type BudgetLease, type BudgetLeaseRepository, type BudgetLeaseRequest } from "../store.js";

/** A bucket's current window and who holds how much of it. */
export interface BudgetWindowDocument {
  /** The bucket: one document per bucket, reset in place when its next window opens. */
  _id: string;
  start: Date;
  /** Null: an explicit window with no end. */
  end: Date | null;
  /** Every holder's units, summed: the figure the limit bounds. */
  granted: number;
  /** Units per holder (replica id). */
  held: Record<string, number>;
  /** Opened with no earlier window to follow: seed() adds what was spent before leasing began. */
  unseeded: boolean;
  /** Whether the last lease was taken as asked: read back in that lease's own answer. */
  applied: boolean;
  /** The primary's clock at the last lease. */
  now: Date;
  /** TTL: a window past, and one more (an explicit window: EXPLICIT_WINDOW_RETENTION_MS), that nobody leased from; null: kept. */
  expiresAt: Date | null;
}

const HOLDER = /^[A-Za-z0-9_-]{1,64}$/;
/** Lease updates one call runs at once (the driver's pool holds 100 connections by default). */
const LEASES_IN_FLIGHT = 32;

/**
 * Leases as one findOneAndUpdate per bucket, whose update is an aggregation pipeline so that the
 * whole decision (which window is current on the primary's clock, whether the holder's belief
 * matches, how much of the limit is left) is taken inside one atomic document update. The requests
 * of one call go out together, so a caller waits one round trip however many buckets it asks for.
 * Each is a retryable write with majority write concern: a grant that was acknowledged survives an
 * election, and one whose answer was lost is not granted again (the holder's stated belief no
 * longer matches, so a second try changes nothing and reports the holding as it is).
 */
export class MongoBudgetLeases implements BudgetLeaseRepository {
  static readonly indexes: IndexDescription[] = [{ key: { expiresAt: 1 }, name: "expires_ttl", expireAfterSeconds: 0 }];

  constructor(
    private readonly collection: Collection<BudgetWindowDocument>,
    /** Server-side bound of one lease: a Check may be waiting on it. */
    private readonly maxTimeMS: number,
  ) {}

  async lease(requests: BudgetLeaseRequest[]): Promise<BudgetLease[]> {
    // Side by side, but never more than a share of the connection pool at once: at a window's
    // start every active bucket of a replica asks in the same moment.
    const answers: BudgetLease[] = new Array(requests.length);
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const i = next++;
        answers[i] = await this.#leaseOne(requests[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LEASES_IN_FLIGHT, requests.length) }, worker));
    return answers;
  }

  async seed(bucket: string, windowStartMs: number, units: number): Promise<void> {
    await this.collection.updateOne(
      { _id: bucket, start: new Date(windowStartMs), unseeded: true },
      { $set: { unseeded: false }, $inc: { granted: Math.max(0, Math.floor(units)) } },
      { writeConcern: { w: "majority" } },
    );
  }

  async #leaseOne(request: BudgetLeaseRequest): Promise<BudgetLease> {
    if (!HOLDER.test(request.holder)) throw new Error(`budget holder must be 1-64 letters, digits, - or _: ${JSON.stringify(request.holder)}`);
    const document = await this.collection.findOneAndUpdate({ _id: request.bucket }, leasePipeline(request), {
      upsert: true,
      returnDocument: "after",
      writeConcern: { w: "majority" },
      maxTimeMS: this.maxTimeMS,
    });
    if (document === null) throw new Error(`budget window of ${request.bucket} missing after its upsert`);
    return {
      bucket: request.bucket,
      windowStartMs: document.start.getTime(),
      windowEndMs: document.end === null ? Infinity : document.end.getTime(),
      storeNowMs: document.now.getTime(),
      held: document.held[request.holder] ?? 0,
      applied: document.applied,
      granted: document.granted,
      holders: Object.keys(document.held).length,
      unseeded: document.unseeded,
    };
  }
}

/** Up to `want` units, as far as the limit allows beside what the holder must be raised to first. */
function grant(want: number, limit: number): Document {
  return { $max: [0, { $min: [want, { $subtract: [{ $subtract: [limit, "$granted"] }, { $max: [0, { $subtract: ["$_floor", "$_mine"] }] }] }] }] };
}

/**
 * Where the window starts and ends and when its document may go: the unit's on the primary's clock,
 * or the one the asker names (`$_current` is the later of it and the document's).
 */
function windowBounds(request: BudgetLeaseRequest): { start: Document; end: Document; expiresAt: Document } {
  const { unit, window } = request;
  if (window === undefined) {
    return {
      start: { $dateTrunc: { date: "$$NOW", unit, timezone: "UTC" } },
      end: { $dateAdd: { startDate: "$_current", unit, amount: 1 } },
      expiresAt: { $dateAdd: { startDate: "$end", unit, amount: 1 } },
    };
  }
  const end = window.endMs === null ? null : new Date(window.endMs);
  return {
    start: new Date(window.startMs),
    // An asker behind the document's window leaves its end as it is.
    end: { $cond: [{ $eq: ["$_current", new Date(window.startMs)] }, end, "$end"] },
    expiresAt: { $cond: [{ $eq: ["$end", null] }, null, { $add: ["$end", EXPLICIT_WINDOW_RETENTION_MS] }] },
  };
}

/** The update of one lease, step by step; the same rules as MemoryBudgetLeases. */
function leasePipeline(request: BudgetLeaseRequest): Document[] {
  const { holder, limit, want } = request;
  const believedStart = request.windowStartMs === null ? null : new Date(request.windowStartMs);
  const bounds = windowBounds(request);
  // An explicit window that ended on the primary's clock grants nothing: an ask that comes late never reopens it.
  const ended = request.window === undefined ? false : { $and: [{ $ne: ["$end", null] }, { $lte: ["$end", "$_now"] }] };
  return [
    // The primary's window, never one before the document's: a primary whose clock is behind the
    // last one's (after an election) does not reopen a window.
    { $set: { _now: "$$NOW", _current: { $max: [bounds.start, "$start"] } } },
    { $set: { _created: { $eq: [{ $type: "$start" }, "missing"] }, _opened: { $ne: ["$start", "$_current"] } } },
    {
      $set: {
        unseeded: { $cond: ["$_created", true, { $cond: ["$_opened", false, "$unseeded"] }] },
        granted: { $cond: ["$_opened", 0, "$granted"] },
        held: { $cond: ["$_opened", {}, "$held"] },
        start: "$_current",
        end: bounds.end,
      },
    },
    {
      $set: {
        _same: { $eq: ["$start", believedStart] },
        _mine: { $ifNull: [{ $getField: { field: holder, input: "$held" } }, 0] },
      },
    },
    { $set: { _floor: { $cond: ["$_same", request.floor, 0] }, _matches: { $eq: ["$_mine", { $cond: ["$_same", request.held, 0] }] } } },
    {
      $set: {
        _held: {
          $cond: [
            "$_matches",
            {
              $max: [
                0,
                {
                  $add: [
                    "$_floor",
                    want < 0
                      ? want
                      : { $cond: [{ $or: [ended, request.seedFirst === true ? "$unseeded" : false] }, 0, grant(want, limit)] },
                  ],
                },
              ],
            },
            "$_mine",
          ],
        },
      },
    },
    {
      $set: {
        granted: { $add: ["$granted", { $subtract: ["$_held", "$_mine"] }] },
        held: { $setField: { field: holder, input: "$held", value: "$_held" } },
        applied: "$_matches",
        now: "$_now",
        expiresAt: bounds.expiresAt,
      },
    },
    { $unset: ["_now", "_current", "_created", "_opened", "_same", "_mine", "_floor", "_matches", "_held"] },
  ];
}
