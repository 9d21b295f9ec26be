import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { BudgetSpec } from "../../src/limits/leased-budgets.js";
import { burst, leasedFleet, request, type Fleet } from "./leased-fleet.js";

const minute = (limit: number, bucket = "key/key_A/minute"): BudgetSpec => ({ bucket, unit: "minute", limit });

describe("leased budgets", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it("a burst of three times the limit over 1 to 4 replicas, in any order, admits exactly the limit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 60 }),
        fc.infiniteStream(fc.nat()),
        async (replicas, limit, picks) => {
          const run = await leasedFleet({ replicas });
          try {
            const order = Array.from({ length: 3 * limit }, () => picks.next().value % replicas);
            expect(await burst(run, [minute(limit)], order)).toBe(limit);
            const window = await run.leases.window(minute(limit));
            expect(window.granted).toBe(limit);
          } finally {
            await run.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("bursts in waves never admit more than the limit, and every admitted request is covered by a grant", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 6 }),
        async (replicas, limit, waves) => {
          const run = await leasedFleet({ replicas });
          try {
            let admitted = 0;
            for (const wave of waves) admitted += await burst(run, [minute(limit)], wave.map((pick) => pick % replicas));
            expect(admitted).toBeLessThanOrEqual(limit);
            expect(admitted).toBeLessThanOrEqual((await run.leases.window(minute(limit))).granted);
          } finally {
            await run.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a hot bucket with ample budget asks ahead: after its first ask, no request waits and asks stay rare", async () => {
    fleet = await leasedFleet({ replicas: 2 });
    const spec = minute(1_000_000);
    let waited = 0;
    for (let i = 0; i < 2_000; i++) {
      const replica = fleet.replicas[i % 2]!;
      const taken = replica.budgets.take([spec], replica.clock.now(), Infinity);
      if ("waitFor" in taken) {
        waited++;
        await taken.waitFor;
        expect(replica.budgets.take([spec], replica.clock.now(), 0)).toMatchObject({ admitted: true });
      } else {
        expect(taken.admitted).toBe(true);
      }
      // 1,000 requests a second over the fleet, each its own event; the asks ahead land between them.
      fleet.storeClock.advance(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(waited).toBe(2); // each replica's first request
    expect(fleet.leases.asks.length).toBeLessThan(2_000 / 20);
  });

  it("a steady load at 90% of a per-second limit over three replicas is admitted in full, window after window", async () => {
    fleet = await leasedFleet({ replicas: 3 });
    const spec: BudgetSpec = { bucket: "key/key_S/second", unit: "second", limit: 20 };
    let denied = 0;
    // 18 a second for 10 s, one every 55.5 ms, round robin.
    for (let i = 0; i < 180; i++) {
      if (!(await request(fleet.replicas[i % 3]!, [spec]))) denied++;
      fleet.storeClock.advance(1_000 / 18);
    }
    expect(denied).toBe(0);
  });

  it("the same at 95%, while the replicas started first still count fewer replicas than lease: their windows tell them", async () => {
    // Replica 0 believes it is alone and replica 1 that they are two, until their next
    // announcement (2 s on): sized for fewer, each of their slices of a second held units unused
    // that the others then lacked.
    fleet = await leasedFleet({ replicas: 3, startedInTurn: true });
    const spec: BudgetSpec = { bucket: "key/key_S/second", unit: "second", limit: 20 };
    let denied = 0;
    for (let i = 0; i < 5 * 19; i++) {
      if (!(await request(fleet.replicas[i % 3]!, [spec]))) denied++;
      fleet.storeClock.advance(1_000 / 19);
    }
    expect(denied).toBe(0);
  });

  it("windows follow the store's clock: a replica whose clock runs 40 s ahead does not open the next minute early", async () => {
    fleet = await leasedFleet({ replicas: 1, skewsMs: [40_000] }); // store at 12:00:10, replica at 12:00:50
    const [replica] = fleet.replicas;
    const spec = minute(5);
    expect(await burst(fleet, [spec], [0, 0, 0, 0, 0, 0, 0])).toBe(5);
    fleet.storeClock.advance(20_000); // the replica's clock is past 12:01, the store's is not
    expect(await request(replica!, [spec])).toBe(false);
    fleet.storeClock.advance(31_000); // the store's minute is over
    expect(await request(replica!, [spec])).toBe(true);
  });

  it("a lowered limit holds from the next ask: the units granted stay, no more are granted beyond the new limit", async () => {
    fleet = await leasedFleet({ replicas: 2 });
    expect(await burst(fleet, [minute(10)], [0, 0, 0, 0, 0, 0])).toBe(6);
    // Replica 1 asks under a limit of 4: the fleet holds 6 or more already.
    expect(await burst(fleet, [minute(4)], [1, 1, 1])).toBe(0);
    // Replica 0 holds units left under the old limit; the new one binds it at once all the same.
    expect(await burst(fleet, [minute(4)], [0, 0])).toBe(0);
    const granted = (await fleet.leases.window(minute(4))).granted;
    expect(granted).toBeGreaterThanOrEqual(6);
    expect(granted).toBeLessThanOrEqual(10);
  });

  it("a lowered limit binds what each replica holds by the fleet's total as it is now, not as its last answer had it", async () => {
    // The replicas lease in turn, each sized for the fleet it knows of (itself alone, two, three):
    // each one's last answer predates the slices of those after it. Those answers let the fleet
    // admit 19 under the lowered limit of 15 (on MongoDB too, by the fleet test).
    fleet = await leasedFleet({ replicas: 3, startedInTurn: true });
    let admitted = 0;
    for (const replica of [0, 1, 2]) admitted += await burst(fleet, [minute(30)], [replica, replica]);
    expect((await fleet.leases.window(minute(30))).granted).toBeGreaterThan(15);
    admitted += await burst(fleet, [minute(15)], Array.from({ length: 45 }, (_, i) => i % 3));
    expect(admitted).toBeLessThanOrEqual(15);
  });

  it("a Check waits one ask for all its buckets together, never one ask per bucket", async () => {
    fleet = await leasedFleet({ replicas: 1 });
    const specs = [minute(10), minute(100, "org/org_A/minute"), { bucket: "quota/org_A", unit: "month", limit: 1_000 } as const];
    expect(await request(fleet.replicas[0]!, specs)).toBe(true);
    expect(fleet.leases.asks).toHaveLength(1);
    expect(fleet.leases.asks[0]!.map((ask) => ask.bucket)).toEqual(specs.map((spec) => spec.bucket));
  });

  it("a denial by the first bucket in order spends nothing in the buckets after it", async () => {
    fleet = await leasedFleet({ replicas: 1 });
    const own = minute(2);
    const organization = minute(100, "org/org_A/minute");
    expect(await burst(fleet, [own, organization], [0, 0, 0, 0, 0])).toBe(2);
    const replica = fleet.replicas[0]!;
    expect(replica.budgets.peek(organization, replica.clock.now()).remaining).toBeGreaterThanOrEqual(98);
  });
});

describe("leased budgets while the store does not answer", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it("with no allowance, a replica admits what it holds and nothing more", async () => {
    fleet = await leasedFleet({ replicas: 2, outageAllowance: "none" });
    const spec = minute(100);
    expect(await request(fleet.replicas[0]!, [spec])).toBe(true);
    fleet.leases.failing = true;
    let admitted = 0;
    for (let i = 0; i < 50; i++) if (await request(fleet.replicas[0]!, [spec])) admitted++;
    const held = fleet.leases.asks.length > 0 ? (await fleet.leases.window(spec)).granted : 0;
    expect(admitted).toBe(held - 1);
    // A replica that holds nothing admits nothing.
    expect(await request(fleet.replicas[1]!, [spec])).toBe(false);
  });

  it("with the share allowance, each replica admits its share of the window's remainder; the store counts them once when it answers", async () => {
    fleet = await leasedFleet({ replicas: 2, outageAllowance: "share" });
    const spec = minute(100);
    // Both replicas have leased: the fleet is known to be two.
    expect(await burst(fleet, [spec], [0, 1])).toBe(2);
    const before = (await fleet.leases.window(spec)).granted;
    fleet.leases.failing = true;
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (await request(fleet.replicas[0]!, [spec])) admitted++;
    // What replica 0 held, then half of what the fleet had not leased as it last saw it.
    expect(admitted).toBeGreaterThanOrEqual(Math.floor((100 - before) / 2));
    expect(admitted).toBeLessThanOrEqual(before + Math.floor((100 - 2) / 2));
    fleet.leases.failing = false;
    fleet.storeClock.advance(1_500); // past the once-a-second retry
    // No Check waits on a store that did not answer: the retry goes in the background, and a
    // request is admitted again once it has landed.
    await expect.poll(() => request(fleet!.replicas[0]!, [spec]), { timeout: 5_000 }).toBe(true);
    // Counted once, beside what the fleet held before: the reconciling ask adds at most one slice
    // (a quarter of the limit for two replicas) on top.
    await expect.poll(async () => (await fleet!.leases.window(spec)).granted, { timeout: 5_000 }).toBeGreaterThanOrEqual(admitted + 3);
    const after = (await fleet.leases.window(spec)).granted;
    expect(after).toBeLessThanOrEqual(before + admitted + 1 + 25);
  });

  it("a window opened while the store is silent gets each replica's share of the limit at once", async () => {
    fleet = await leasedFleet({ replicas: 2, outageAllowance: "share", start: Date.UTC(2026, 0, 15, 12, 0, 55) });
    const spec = minute(100);
    expect(await burst(fleet, [spec], [0, 1])).toBe(2);
    fleet.leases.failing = true;
    fleet.storeClock.advance(10_000); // the next minute
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (await request(fleet.replicas[0]!, [spec])) admitted++;
    expect(admitted).toBe(50);
  });

  it("a Check waits at most waitMs for an answer that does not come, then decides without it; the late answer is used", async () => {
    fleet = await leasedFleet({ replicas: 1, waitMs: 50, outageAllowance: "none" });
    const spec = minute(10);
    fleet.leases.hold();
    const started = performance.now();
    expect(await request(fleet.replicas[0]!, [spec])).toBe(false);
    expect(performance.now() - started).toBeLessThan(5_000);
    fleet.leases.release();
    await expect.poll(() => request(fleet!.replicas[0]!, [spec]), { timeout: 5_000 }).toBe(true);
  });

  it("a month leased for the first time is seeded once with what was spent before", async () => {
    const seeds: string[] = [];
    fleet = await leasedFleet({
      replicas: 2,
      seed: async (bucket) => {
        seeds.push(bucket);
        return 7;
      },
    });
    const quota = { bucket: "quota/org_A", unit: "month", limit: 10, seedFirst: true } as const;
    // Nothing is granted before the 7 spent before count: the first Checks wait for the seed.
    const admitted = await burst(fleet, [quota], [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(admitted).toBe(3);
    const window = await fleet.leases.window(quota);
    expect(window).toMatchObject({ unseeded: false, granted: 10 });
    expect(seeds).toEqual(["quota/org_A"]);
  });
});

describe("leased budgets, what a replica forgets or gives away", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it("idle units go back where the window is contested, and stay where the budget is ample", async () => {
    fleet = await leasedFleet({ replicas: 2 });
    const contested = minute(4, "key/key_contested/minute");
    const ample = minute(1_000, "key/key_ample/minute");
    const [replica] = fleet.replicas;
    expect(await request(replica!, [contested])).toBe(true);
    expect(await request(replica!, [ample])).toBe(true);
    const heldAmple = (await fleet.leases.window(ample)).granted;
    expect(heldAmple).toBeGreaterThan(1);
    // Idle past the 2 s mark on the replica's clock; the sweep runs every second of real time.
    fleet.storeClock.advance(3_000);
    await expect.poll(async () => (await fleet!.leases.window(contested)).granted, { timeout: 5_000 }).toBe(1);
    expect((await fleet.leases.window(ample)).granted).toBe(heldAmple);
  });

  it("units a waiting Check has claimed are not given back, however long its other bucket's ask takes", async () => {
    fleet = await leasedFleet({ replicas: 2 });
    const claimed = minute(100, "key/key_claimed/minute");
    const idle = minute(100, "key/key_idle/minute");
    const fresh = minute(100, "key/key_fresh/minute");
    const [replica] = fleet.replicas;
    // Another replica holds half of each window, so units held here are contested.
    for (const spec of [claimed, idle]) await fleet.leases.inner.lease([{ ...spec, holder: "other", windowStartMs: null, held: 0, floor: 0, want: 50 }]);
    expect(await request(replica!, [claimed])).toBe(true);
    expect(await request(replica!, [idle])).toBe(true);
    // A Check of `claimed` and a bucket this replica never asked for: it waits for that ask (held
    // here, as a slow store or a month's seed would), claiming what `claimed` holds meanwhile.
    fleet.leases.hold();
    const taken = replica!.budgets.take([claimed, fresh], replica!.clock.now(), Infinity);
    if (!("waitFor" in taken)) throw new Error("expected to wait for the fresh bucket's ask");
    // Both sit idle past the 2 s mark; the sweep (every second of real time) gives back the idle
    // bucket's units, and so shows it has run.
    fleet.storeClock.advance(3_000);
    const givenBack = (spec: BudgetSpec) => fleet!.leases.asks.some((ask) => ask.some((one) => one.bucket === spec.bucket && one.want < 0));
    await expect.poll(() => givenBack(idle), { timeout: 10_000 }).toBe(true);
    expect(givenBack(claimed)).toBe(false);
    fleet.leases.release();
    await taken.waitFor;
    // Decided with what is here, as Check's last try is: the claimed units are still held.
    expect(replica!.budgets.take([claimed, fresh], replica!.clock.now(), 0)).toMatchObject({ admitted: true });
  });

  it("units granted to waiting Checks are not given back while the month's seed keeps them waiting", async () => {
    let seeded!: (units: number) => void;
    const seed = new Promise<number>((resolve) => (seeded = resolve));
    fleet = await leasedFleet({ replicas: 2, seed: (bucket) => (bucket.startsWith("quota/") ? seed : undefined) });
    const key = minute(100, "key/key_fresh/minute");
    const idle = minute(100, "key/key_idle/minute");
    const month: BudgetSpec = { bucket: "quota/org_1", unit: "month", limit: 1_000, seedFirst: true };
    const [replica] = fleet.replicas;
    for (const spec of [key, idle]) await fleet.leases.inner.lease([{ ...spec, holder: "other", windowStartMs: null, held: 0, floor: 0, want: 50 }]);
    expect(await request(replica!, [idle])).toBe(true);
    // One ask for both: the key's units come, the month's first wait for its seed.
    const taken = replica!.budgets.take([key, month], replica!.clock.now(), Infinity);
    if (!("waitFor" in taken)) throw new Error("expected to wait for the asks");
    await expect.poll(async () => (await fleet!.leases.window(key)).granted, { timeout: 10_000 }).toBeGreaterThan(50);
    fleet.storeClock.advance(3_000);
    const givenBack = (spec: BudgetSpec) => fleet!.leases.asks.some((ask) => ask.some((one) => one.bucket === spec.bucket && one.want < 0));
    await expect.poll(() => givenBack(idle), { timeout: 10_000 }).toBe(true);
    expect(givenBack(key)).toBe(false);
    seeded(0);
    await taken.waitFor;
    expect(replica!.budgets.take([key, month], replica!.clock.now(), 0)).toMatchObject({ admitted: true });
  });

  it("a bucket dropped from a replica's cache and made anew does not use its old units again", async () => {
    fleet = await leasedFleet({ replicas: 1, maxBuckets: 2 });
    const [replica] = fleet.replicas;
    const spec = minute(10);
    let admitted = 0;
    for (let round = 0; round < 3; round++) {
      admitted += await burst(fleet, [spec], Array.from({ length: 10 }, () => 0));
      // Two other buckets push it out of the cache.
      await burst(fleet, [minute(100, `key/other-${round}-a/minute`)], [0]);
      await burst(fleet, [minute(100, `key/other-${round}-b/minute`)], [0]);
    }
    expect(admitted).toBe(10);
    expect((await fleet.leases.window(spec)).granted).toBe(10);
    expect(await request(replica!, [spec])).toBe(false);
  });

  it("units on their way back to the fleet are not admitted here meanwhile", async () => {
    // No outage allowance: the asks held here would otherwise let the replica admit its share.
    fleet = await leasedFleet({ replicas: 1, outageAllowance: "none" });
    const spec = minute(40);
    const other = (want: number, windowStartMs: number | null = null, held = 0) =>
      fleet!.leases.inner.lease([{ ...spec, holder: "other", windowStartMs, held, floor: held, want }]).then(([lease]) => lease!);
    // Another replica holds half the window, so this one sees it contested.
    const half = await other(20);
    let admitted = await burst(fleet, [spec], [0, 0, 0]);
    fleet.storeClock.advance(3_000);
    // The idle units go back, and that answer is held on its way while requests keep coming.
    fleet.leases.hold();
    await expect.poll(() => fleet!.leases.asks.some((ask) => ask.some((one) => one.want < 0)), { timeout: 5_000 }).toBe(true);
    const during = burst(fleet, [spec], Array.from({ length: 20 }, () => 0));
    await new Promise((resolve) => setTimeout(resolve, 50));
    fleet.leases.release();
    // Any ask of this replica after the give-back waits, so the other replica is first to the units.
    fleet.leases.hold();
    admitted += await during;
    await expect.poll(async () => (await fleet!.leases.window(spec)).granted, { timeout: 5_000 }).toBeLessThan(40);
    // The other replica takes what came back.
    const taken = await other(40, half.windowStartMs, half.held);
    fleet.leases.release();
    expect(admitted + taken.held).toBeLessThanOrEqual(40);
  });
});
