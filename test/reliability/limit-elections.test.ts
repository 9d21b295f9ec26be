import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../support/app.js";
import type { Election } from "../support/replica-set.js";
import { READ_TIMEOUT_MS, startElectionFleet, startFleetReplica, type ElectionFleet, type FleetReplica } from "./election-fleet.js";
import { allowedOf, countsNotCovered, overTheLimit, storedWindows, underAdmitted, windowsNotOpenedAt, type BucketAccount } from "./limit-ledger.js";
import { LimitLoad } from "./limit-load.js";
import { groupNumbers, leaseCounts, type GroupRecords } from "./limit-numbers.js";

/**
 * Leased limits ride through MongoDB elections (issue 15), on three real mongod processes: a
 * step-down of the primary, then a SIGKILL of the primary, each while keys limited to LIMIT a
 * day take Checks on every replica at several times their limit. Two groups of two keygate
 * replicas run side by side, each on keys of its own organization: one with the outage
 * allowance off (KEYGATE_LIMITS_OUTAGE_ALLOWANCE=none), one with the default (share).
 *
 * In both, and in both scenarios: every request admitted is covered by a grant in the store, and
 * the fleet's total of each window is exactly what its holders hold (no slice granted twice, no
 * count lost); for the organization's monthly quota too. With the allowance off the fleet never
 * admits or is granted more than a key's limit, and admits all of it but at most one slice per
 * replica. No Check fails or waits past the read deadline. Each scenario prints its numbers.
 *
 * Day windows, so that no run straddles a window (a run near midnight UTC waits for it to pass).
 */

const LIMIT = 60;
const KEYS = 12;
/** Every 25 ms one Check on each replica, of a key at random: about 6.7 a second per key and group, 9 s of its limit. */
const TICK_MS = 25;
/** lease-sizing.ts caps a slice at half a fair share: LIMIT / (2 × 2 replicas). The bound: one per replica. */
const UNDER_ADMISSION_BOUND = 2 * Math.floor(LIMIT / 4);
/** The monthly quota of the enterprise plan (never reached here: only its counts are judged). */
const ENTERPRISE_MONTHLY_QUOTA = 1_000_000_000;
/** A Check waits for a lease at most the read deadline; the margin is for a busy machine, far below any hang. */
const CHECK_BOUND_MS = READ_TIMEOUT_MS + 2_000;
/** Load before the primary goes, so every key has slices on every replica. */
const STEADY_MS = 2_000;
/** A key is spent once the store granted its whole limit and no replica admitted it for this long (a replica re-asks a spent bucket every second). */
const QUIET_MS = 2_500;
/** After the new primary, how long the keys may take to be spent before the run gives up and reports. */
const SPENT_WITHIN_MS = 40_000;
const DAY_MS = 86_400_000;
/** A run lasts well under this: one that would reach midnight UTC waits for it instead. */
const DAY_EDGE_MS = 90_000;
/** Denials a limit may give, beside admissions. */
const DECISIONS = new Set(["allowed", "RATE_LIMITED", "QUOTA_EXCEEDED"]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Group {
  allowance: "none" | "share";
  replicas: { name: string; app: TestApp }[];
}

/** A group's part of a scenario: its organization's keys, their load, and its lease counters before. */
interface GroupRun {
  group: Group;
  buckets: string[];
  quotaBucket: string;
  load: LimitLoad;
  before: Awaited<ReturnType<typeof leaseCounts>>[];
}

/** The primary going away: when (the step-down command or the SIGKILL), and the election that followed. */
interface Disruption {
  at: number;
  election: Election;
}

describe("leased limits through MongoDB elections: three members, two groups of two keygate replicas", () => {
  let fleet: ElectionFleet;
  let extra: FleetReplica[] = [];
  let groups: Group[];

  beforeAll(async () => {
    fleet = await startElectionFleet({ KEYGATE_LIMITS_OUTAGE_ALLOWANCE: "none" });
    const share = { KEYGATE_LIMITS_OUTAGE_ALLOWANCE: "share" };
    extra = [await startFleetReplica(fleet.set.uri, "keygate-c", share), await startFleetReplica(fleet.set.uri, "keygate-d", share)];
    groups = [
      { allowance: "none", replicas: [{ name: "A", app: fleet.a }, { name: "B", app: fleet.b }] },
      { allowance: "share", replicas: [{ name: "C", app: extra[0]!.app }, { name: "D", app: extra[1]!.app }] },
    ];
  });
  afterAll(async () => {
    for (const replica of extra) await replica.close();
    await fleet?.close();
  });

  /** An organization of the group's own with KEYS keys limited to LIMIT a day, each Checked once on every replica. */
  async function prepare(group: Group, label: string): Promise<GroupRun> {
    const tenant = await fleet.tenant();
    const keys = [];
    for (let i = 0; i < KEYS; i++) {
      const name = `${label}-${group.allowance}-${i}`;
      keys.push(await tenant.client.createKey({ name, scopes: ["machines:read"], rateLimit: LIMIT, rateLimitPeriod: RateLimitPeriod.DAY }));
    }
    const replicas = group.replicas.map(({ name, app }) => ({ name, url: app.app.url }));
    const load = new LimitLoad(replicas, keys.map(({ secret }) => secret));
    return {
      group,
      buckets: keys.map(({ key }) => `key/${key!.id}/day`),
      quotaBucket: `quota/${tenant.organizationId}`,
      load,
      before: await Promise.all(group.replicas.map(({ app }) => leaseCounts(app))),
    };
  }

  /** Until every key of every group is spent (see QUIET_MS), or `deadline` passes. */
  async function untilSpent(runs: GroupRun[], deadline: number): Promise<void> {
    const buckets = runs.flatMap((run) => run.buckets);
    while (Date.now() < deadline) {
      const windows = await storedWindows(fleet.data, buckets);
      const spent = runs.every((run) =>
        run.buckets.every((bucket, key) => (windows.get(bucket)?.granted ?? 0) >= LIMIT && Date.now() - run.load.lastAllowed(key) >= QUIET_MS),
      );
      if (spent) return;
      await sleep(500);
    }
  }

  /** Load on every group, `disrupt` after STEADY_MS, load until the keys are spent; then each group's records. */
  async function underLoad(label: string, disrupt: () => Promise<Disruption>): Promise<{ disruption: Disruption; dayStartMs: number; records: GroupRecords[] }> {
    const toMidnight = DAY_MS - (Date.now() % DAY_MS);
    if (toMidnight < DAY_EDGE_MS) await sleep(toMidnight + 1_000);
    const dayStartMs = Date.now() - (Date.now() % DAY_MS);
    const runs: GroupRun[] = [];
    for (const group of groups) runs.push(await prepare(group, label));
    await Promise.all(runs.map((run) => run.load.checkEveryKey()));
    for (const run of runs) run.load.start(TICK_MS);
    let disruption: Disruption;
    try {
      await sleep(STEADY_MS);
      disruption = await disrupt();
      await untilSpent(runs, disruption.election.observedAt + SPENT_WITHIN_MS);
    } finally {
      await Promise.all(runs.map((run) => run.load.stop()));
    }
    const windows = await storedWindows(fleet.data, runs.flatMap((run) => [...run.buckets, run.quotaBucket]));
    const records = runs.map((run): GroupRecords => {
      const checks = run.load.checks;
      return {
        allowance: run.group.allowance,
        checks,
        keys: run.buckets.map((bucket, key) => ({ bucket, limit: LIMIT, allowed: allowedOf(checks, key), window: windows.get(bucket) })),
        quota: { bucket: run.quotaBucket, limit: ENTERPRISE_MONTHLY_QUOTA, allowed: allowedOf(checks), window: windows.get(run.quotaBucket), seeded: true },
        replicas: run.group.replicas.map((replica, i) => ({ ...replica, before: run.before[i]! })),
      };
    });
    return { disruption: disruption!, dayStartMs, records };
  }

  /** Everything the issue asks of a scenario, each assertion soft so that one run reports every failure. */
  async function expectLimitsHeld(scenario: string, { disruption, dayStartMs, records }: Awaited<ReturnType<typeof underLoad>>): Promise<void> {
    const numbers = await Promise.all(records.map((group) => groupNumbers(group, disruption.at)));
    console.log(`[limit-elections] ${scenario}: election ${disruption.election.electedAt - disruption.at} ms; ${JSON.stringify(numbers, null, 2)}`);
    for (const group of records) {
      const which = `${group.allowance}:`;
      const accounts: BucketAccount[] = [...group.keys, group.quota];
      expect.soft(windowsNotOpenedAt(group.keys, dayStartMs), `${which} key windows other than today's`).toEqual([]);
      expect.soft(countsNotCovered(accounts), `${which} buckets whose grants are not their holders' or do not cover what was admitted`).toEqual([]);
      if (group.allowance === "none") {
        expect.soft(overTheLimit(group.keys), `${which} keys admitted or granted over their limit`).toEqual([]);
        expect.soft(underAdmitted(group.keys, UNDER_ADMISSION_BOUND), `${which} keys admitted ${UNDER_ADMISSION_BOUND} or more below their limit`).toEqual([]);
      } else {
        // The allowance admits at most a replica's share of a window beyond its slices: never twice the limit.
        expect.soft(group.keys.filter((key) => key.allowed > 2 * key.limit).map((key) => key.bucket), `${which} keys admitted past twice their limit`).toEqual([]);
      }
      const rpcFailures = group.checks.filter((check) => !DECISIONS.has(check.answer));
      expect.soft(rpcFailures.slice(0, 10), `${which} Checks answered other than a limit's decision (${rpcFailures.length})`).toEqual([]);
      const slow = group.checks.filter((check) => check.endedAt - check.startedAt > CHECK_BOUND_MS);
      expect.soft(slow.slice(0, 10), `${which} Checks that waited past ${CHECK_BOUND_MS} ms (${slow.length})`).toEqual([]);
    }
  }

  it("step-down of the primary: nothing over the limit, no slice granted twice, no count lost", { timeout: 180_000 }, async () => {
    const run = await underLoad("stepdown", async () => {
      const primary = await fleet.set.waitForPrimary(30_000);
      const at = Date.now();
      await fleet.set.stepDown(primary);
      return { at, election: await fleet.set.waitForElection(primary, 60_000) };
    });
    await expectLimitsHeld("step-down", run);
  });

  // The last scenario: the killed member stays down (two members are a majority for the reads above).
  it("SIGKILL of the primary: nothing over the limit with the allowance off, no slice granted twice, no count lost", { timeout: 180_000 }, async () => {
    const run = await underLoad("sigkill", async () => {
      const primary = await fleet.set.waitForPrimary(30_000);
      const at = Date.now();
      await fleet.set.kill(primary);
      return { at, election: await fleet.set.waitForElection(primary, 60_000) };
    });
    await expectLimitsHeld("SIGKILL", run);
  });
});
