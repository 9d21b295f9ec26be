import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/model/ids.js";
import type { BudgetLease, BudgetLeaseRequest, BudgetUnit, Store } from "../../../src/store/store.js";

/**
 * Leased budgets: what the store grants each holder of a bucket's current window, atomically and
 * within the limit, on the store's own clock. Hour windows, so a test almost never straddles two;
 * when one does (the window it asked in is not the one answered), it runs again in the next.
 */
export function describeBudgetLeasesContract(getStore: () => Store): void {
  let store: Store;
  beforeAll(() => {
    store = getStore();
  });

  type Ask = Partial<BudgetLeaseRequest> & Pick<BudgetLeaseRequest, "bucket" | "holder">;
  const ask = (request: Ask): BudgetLeaseRequest => ({ unit: "hour", limit: 20, windowStartMs: null, held: 0, floor: request.held ?? 0, want: 0, ...request });
  const leaseOne = async (request: Ask): Promise<BudgetLease> => (await store.budgets.lease([ask(request)]))[0]!;
  /** The holder's next ask, believing what the store last told it. */
  const after = (lease: BudgetLease, request: Ask): Ask => ({ windowStartMs: lease.windowStartMs, held: lease.held, floor: lease.held, ...request });

  /** Runs `body` until it ran inside one window (at most three times: a test straddles at most one edge). */
  async function inOneWindow(body: (bucket: string) => Promise<BudgetLease[]>): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const leases = await body(`key/${newId("key")}/hour`);
      if (new Set(leases.map((lease) => lease.windowStartMs)).size <= 1) return;
    }
    throw new Error("three attempts straddled a window edge");
  }

  describe("budget leases", () => {
    it("grants each holder what it asks while the fleet's total stays within the limit, then what is left, then nothing", async () => {
      await inOneWindow(async (bucket) => {
        const a = await leaseOne({ bucket, holder: "a", want: 8 });
        expect(a).toMatchObject({ bucket, held: 8, granted: 8, holders: 1, unseeded: true });
        expect(a.windowEndMs - a.windowStartMs).toBe(3_600_000);
        expect(a.windowStartMs).toBe(Math.floor(a.storeNowMs / 3_600_000) * 3_600_000);
        const b = await leaseOne({ bucket, holder: "b", want: 10 });
        expect(b).toMatchObject({ held: 10, granted: 18, holders: 2 });
        const a2 = await leaseOne(after(a, { bucket, holder: "a", want: 5 }));
        expect(a2).toMatchObject({ held: 10, granted: 20, holders: 2 });
        const b2 = await leaseOne(after(b, { bucket, holder: "b", want: 1 }));
        expect(b2).toMatchObject({ held: 10, granted: 20 });
        return [a, b, a2, b2];
      });
    });

    it("answers several buckets in one call, each on its own", async () => {
      await inOneWindow(async (bucket) => {
        const other = `${bucket}-other`;
        const leases = await store.budgets.lease([ask({ bucket, holder: "a", want: 3 }), ask({ bucket: other, holder: "a", want: 30, limit: 7, unit: "day" })]);
        expect(leases.map(({ bucket: b, held, granted }) => ({ b, held, granted }))).toEqual([
          { b: bucket, held: 3, granted: 3 },
          { b: other, held: 7, granted: 7 },
        ]);
        expect(leases[1]!.windowEndMs - leases[1]!.windowStartMs).toBe(86_400_000);
        expect(await store.budgets.lease([])).toEqual([]);
        return leases.slice(0, 1);
      });
    });

    it("an ask repeated after it landed (its answer lost) grants nothing twice and reports the holding as it is", async () => {
      await inOneWindow(async (bucket) => {
        const first = await leaseOne({ bucket, holder: "a", want: 4 });
        expect(first.applied).toBe(true);
        const retried = await leaseOne({ bucket, holder: "a", want: 4 });
        expect(retried).toMatchObject({ held: 4, granted: 4, applied: false });
        const stale = await leaseOne({ bucket, holder: "a", windowStartMs: first.windowStartMs, held: 2, floor: 9, want: 4 });
        expect(stale).toMatchObject({ held: 4, granted: 4 });
        return [first, retried, stale];
      });
    });

    it("units given back return to the fleet; requests admitted without a lease count whatever the limit", async () => {
      await inOneWindow(async (bucket) => {
        const a = await leaseOne({ bucket, holder: "a", want: 15 });
        const back = await leaseOne(after(a, { bucket, holder: "a", want: -5 }));
        expect(back).toMatchObject({ held: 10, granted: 10 });
        const b = await leaseOne({ bucket, holder: "b", want: 10 });
        expect(b).toMatchObject({ held: 10, granted: 20 });
        // b admitted 4 more while it could not reach the store: they count, beyond the limit.
        const owed = await leaseOne(after(b, { bucket, holder: "b", floor: 14, want: 3 }));
        expect(owed).toMatchObject({ held: 14, granted: 24 });
        return [a, back, b, owed];
      });
    });

    it("a lowered limit holds from the next ask: nothing more while the fleet holds more than it", async () => {
      await inOneWindow(async (bucket) => {
        const a = await leaseOne({ bucket, holder: "a", want: 12 });
        const lowered = await leaseOne(after(a, { bucket, holder: "a", want: 5, limit: 10 }));
        expect(lowered).toMatchObject({ held: 12, granted: 12 });
        const raised = await leaseOne(after(lowered, { bucket, holder: "a", want: 5, limit: 15 }));
        expect(raised).toMatchObject({ held: 15, granted: 15 });
        return [a, lowered, raised];
      });
    });

    it("concurrent asks of many holders never take more than the limit between them", async () => {
      await inOneWindow(async (bucket) => {
        const leases = await store.budgets.lease(Array.from({ length: 30 }, (_, i) => ask({ bucket, holder: `h${i}`, want: 1 + (i % 3) })));
        const last = await leaseOne({ bucket, holder: "h0" });
        expect(last.granted).toBe(20);
        expect(leases.reduce((sum, lease) => sum + lease.held, 0)).toBe(20);
        return [...leases, last];
      });
    });

    it("an explicit window is the asker's: its bounds, unbounded when it has no end, and a later one starts a new count", async () => {
      const bucket = `credits/key/${newId("key")}`;
      const hour = 3_600_000;
      const startMs = Date.now() - hour;
      const first = await leaseOne({ bucket, holder: "a", want: 30, window: { startMs, endMs: null } });
      expect(first).toMatchObject({ windowStartMs: startMs, windowEndMs: Infinity, held: 20, granted: 20, unseeded: true });
      const more = await leaseOne(after(first, { bucket, holder: "a", want: 1, window: { startMs, endMs: null } }));
      expect(more).toMatchObject({ held: 20, granted: 20, applied: true });
      // The next window (a refill): a count from nothing, in bounds the asker names.
      const next = await leaseOne(after(more, { bucket, holder: "b", want: 7, limit: 10, window: { startMs: startMs + hour / 2, endMs: startMs + 3 * hour } }));
      expect(next).toMatchObject({ windowStartMs: startMs + hour / 2, windowEndMs: startMs + 3 * hour, held: 7, granted: 7, holders: 1, unseeded: false });
      // An asker still in the window before gets the later one: a window never moves back.
      const behind = await leaseOne(after(first, { bucket, holder: "a", want: 5, limit: 10, window: { startMs, endMs: startMs + hour / 2 } }));
      expect(behind).toMatchObject({ windowStartMs: startMs + hour / 2, windowEndMs: startMs + 3 * hour, held: 3, granted: 10 });
    });

    it("an explicit window that ended grants nothing, but what was admitted without a lease still counts", async () => {
      const bucket = `credits/key/${newId("key")}`;
      const window = { startMs: Date.now() - 7_200_000, endMs: Date.now() - 3_600_000 };
      const late = await leaseOne({ bucket, holder: "a", want: 5, window });
      expect(late).toMatchObject({ windowStartMs: window.startMs, windowEndMs: window.endMs, held: 0, granted: 0, applied: true });
      const owed = await leaseOne(after(late, { bucket, holder: "a", floor: 2, want: 5, window }));
      expect(owed).toMatchObject({ held: 2, granted: 2 });
      expect(await leaseOne(after(owed, { bucket, holder: "a", want: -1, window }))).toMatchObject({ held: 1, granted: 1 });
    });

    it("a seed adds once, to the window opened without an earlier one; a window that follows another opens seeded and empty", async () => {
      const unit: BudgetUnit = "second";
      let bucket = `org/${newId("org")}/second`;
      let first = await leaseOne({ bucket, unit, holder: "a", want: 2 });
      if (first.windowEndMs - first.storeNowMs < 300) {
        // Too close to the edge to seed inside the window: a new bucket, in the next one.
        await new Promise((resolve) => setTimeout(resolve, first.windowEndMs - first.storeNowMs + 20));
        bucket = `org/${newId("org")}/second`;
        first = await leaseOne({ bucket, unit, holder: "a", want: 2 });
      }
      expect(first.unseeded).toBe(true);
      // A bucket whose spending before leasing must count first gets nothing until it is seeded.
      const waiting = await leaseOne(after(first, { bucket, unit, holder: "b", windowStartMs: first.windowStartMs, held: 0, floor: 0, want: 3, seedFirst: true }));
      if (waiting.windowStartMs === first.windowStartMs) expect(waiting).toMatchObject({ held: 0, granted: 2, applied: true, unseeded: true });
      await store.budgets.seed(bucket, first.windowStartMs, 5);
      await store.budgets.seed(bucket, first.windowStartMs, 5.7);
      const seeded = await leaseOne(after(first, { bucket, unit, holder: "a" }));
      if (seeded.windowStartMs === first.windowStartMs) expect(seeded).toMatchObject({ granted: first.granted + 5, unseeded: false });
      await new Promise((resolve) => setTimeout(resolve, seeded.windowEndMs - seeded.storeNowMs + 20));
      const next = await leaseOne(after(seeded, { bucket, unit, holder: "a", want: 1 }));
      expect(next.windowStartMs).toBeGreaterThan(first.windowStartMs);
      // The belief about the window before is void: the holder starts from nothing.
      expect(next).toMatchObject({ held: 1, granted: 1, holders: 1, unseeded: false });
      await store.budgets.seed(bucket, next.windowStartMs, 5);
      expect(await leaseOne(after(next, { bucket, unit, holder: "a" }))).toMatchObject({ granted: 1 });
    });
  });
}
