import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startElectionFleet, B_APP_NAME, READ_TIMEOUT_MS, type ElectionFleet, type KeyFixture, type Tenant } from "./election-fleet.js";
import { ElectionLoad } from "./election-load.js";
import { electionNumbers } from "./election-numbers.js";
import {
  REVOKE_BOUND_MS,
  checksPastDeadline,
  countersNotEqualToKeys,
  decisionsAgainstTheData,
  enforcedOnB,
  unexpectedAnswers,
  writesNotAsAnswered,
  type Disruption,
} from "./election-verdicts.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import { checker } from "./check-client.js";

/**
 * keygate rides through MongoDB elections (issue 14), on three real mongod processes and two
 * keygate replicas under Check load and an admin write every 200 ms: a step-down of the primary,
 * then a SIGKILL of the primary. In each, a revoke that A acknowledged just before the primary
 * went is enforced by B within 2 s of the new primary's election; no answer is `internal`; every
 * write answered OK is in the data and every write answered "not applied" is not; the key slot
 * counters equal the keys; no Check waits past its deadline; through the step-down /readyz stays
 * 200 on both replicas. Each scenario prints what the election cost (election-numbers.ts).
 *
 * Every bound the issue does not fix is generous, for a busy 2-core machine running the mongods
 * under Wine; the 2 s revoke bound is the issue's own.
 */

/** A Check waits at most the read deadline; the margin is for a busy machine, far below any hang. */
const CHECK_BOUND_MS = READ_TIMEOUT_MS + 2_000;
/** Load before the primary goes, so every cache, stream and pool is in its steady state. */
const STEADY_MS = 2_000;
/** How long after the new primary readiness must still hold through a step-down. */
const AFTER_ELECTION_MS = 3_000;
/** Load after admin writes succeed again: Checks of the recovered set, and B's revoke bound. */
const AFTER_RECOVERY_MS = 3_000;
/**
 * Keys for the admin writes, one every 200 ms, for longer than each scenario should last (a
 * step-down about 10 s of load, a SIGKILL about 25 s): the writes stop when they run out.
 */
const TARGETS = { stepdown: 80, sigkill: 160 } as const;

/**
 * How long the revoke just before the primary goes, and the update that shows admin writes work
 * again after the election, are retried while answered `unavailable` (as a careful client does).
 */
const RETRY_MS = 45_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  tenant: Tenant;
  load: ElectionLoad;
  disruption: Disruption;
  /** An update sent after the election was acknowledged within RETRY_MS. */
  writesRecovered: boolean;
  /** Counter drift already there once the keys were created, before any load: not the election's. */
  driftBefore: string[];
}

describe("MongoDB elections under load: three members, two keygate replicas", () => {
  let fleet: ElectionFleet;
  let hot: KeyFixture[];
  let cold: KeyFixture[];

  beforeAll(async () => {
    fleet = await startElectionFleet();
    const steady = await fleet.tenant();
    hot = await steady.createKeys("hot", 6);
    cold = await steady.createKeys("cold", 6);
  });
  afterAll(async () => {
    await fleet?.close();
  });

  /**
   * Load, then `disrupt` (which revokes the sentinel through A and makes the primary go), load
   * until an update sent after the election is acknowledged and a little longer, then `recover`.
   */
  async function underLoad(
    label: keyof typeof TARGETS,
    disrupt: (load: ElectionLoad, sentinel: KeyFixture) => Promise<Disruption>,
    recover: (disruption: Disruption) => Promise<void> = async () => {},
  ): Promise<Run> {
    const began = Date.now();
    // Where a slow run spent its time, in the test's output.
    const phase = (what: string) => console.log(`[elections] ${label} +${Date.now() - began} ms: ${what}`);
    const tenant = await fleet.tenant();
    const targets = await tenant.createKeys(label, TARGETS[label]);
    const [sentinel] = await tenant.createKeys(`${label}-sentinel`, 1);
    const [probe] = await tenant.createKeys(`${label}-probe`, 1);
    const driftBefore = await countersNotEqualToKeys(fleet.data, tenant.organizationId);
    // Cached on both replicas before the load begins.
    for (const app of [fleet.a, fleet.b]) {
      const check = checker(app.app.url);
      for (const key of [...hot, sentinel!]) expect(await check(key.secret)).toBe("allowed");
    }
    const load = new ElectionLoad(fleet, { tenant, hot, cold, targets, sentinel: sentinel! });
    phase("keys created and cached; load starts");
    load.start();
    let disruption: Disruption;
    let writesRecovered: boolean;
    try {
      await sleep(STEADY_MS);
      disruption = await disrupt(load, sentinel!);
      phase("new primary");
      writesRecovered = (await load.changeUntilAcknowledged("update", probe!, Date.now() + RETRY_MS)).code === "OK";
      phase(writesRecovered ? "admin writes succeed again" : `no admin write succeeded within ${RETRY_MS} ms`);
      await sleep(AFTER_RECOVERY_MS);
    } finally {
      await load.stop();
    }
    phase("load stopped, every call answered");
    await recover(disruption);
    phase("recovered");
    return { tenant, load, disruption, writesRecovered, driftBefore };
  }

  /** Everything the issue asks of a run, each assertion soft so that one run reports every failure. */
  async function expectRodeThrough({ tenant, load, disruption, writesRecovered, driftBefore }: Run): Promise<void> {
    console.log(`[elections] ${disruption.kind}: ${JSON.stringify(electionNumbers(load, disruption), null, 2)}`);
    // Not a property of its own: without it the data below was read from a set that never recovered.
    expect.soft(writesRecovered, `an update sent after the election acknowledged within ${RETRY_MS} ms`).toBe(true);
    expect.soft(disruption.sentinelRevoke.code, "the revoke just before the primary went was acknowledged").toBe("OK");
    const enforcedAt = enforcedOnB(load, disruption.sentinelRevoke.key.id);
    expect.soft(enforcedAt, "B enforces the revoke acknowledged just before the primary went").toBeDefined();
    if (enforcedAt !== undefined) {
      expect.soft(enforcedAt - disruption.election.electedAt, "ms from the new primary's election to B denying the revoked key").toBeLessThanOrEqual(REVOKE_BOUND_MS);
    }
    expect.soft(unexpectedAnswers(load), "answers other than OK/unavailable (admin) and decisions/unavailable (Check)").toEqual([]);
    expect.soft(decisionsAgainstTheData(load, disruption), "Check decisions the data does not allow").toEqual([]);
    expect.soft(await writesNotAsAnswered(load, fleet.data), "admin writes whose effect is not what their answer said").toEqual([]);
    expect.soft(driftBefore, "key slot counters that differ from the keys once they were created, before the load").toEqual([]);
    expect.soft(await countersNotEqualToKeys(fleet.data, tenant.organizationId), "key slot counters that differ from the keys").toEqual([]);
    expect.soft(checksPastDeadline(load, CHECK_BOUND_MS), `Checks that waited past ${CHECK_BOUND_MS} ms`).toEqual([]);
  }

  it("step-down of the primary: readiness holds, the revoke just before is enforced, nothing lost", { timeout: 180_000 }, async () => {
    const run = await underLoad("stepdown", async (load, sentinel) => {
      const primary = await fleet.set.waitForPrimary(30_000);
      const sentinelRevoke = await load.changeUntilAcknowledged("revoke", sentinel, Date.now() + RETRY_MS);
      const at = Date.now();
      await fleet.set.stepDown(primary);
      return { kind: "step-down", at, bBlindFrom: at, election: await fleet.set.waitForElection(primary, 60_000), sentinelRevoke };
    });
    await expectRodeThrough(run);
    // Through the step-down: from the command until well after the new primary took office.
    const { at, election } = run.disruption;
    const notReady = run.load.readiness
      .filter((probe) => probe.at >= at && probe.at <= election.observedAt + AFTER_ELECTION_MS && probe.status !== 200)
      .map((probe) => ({ replica: probe.replica, status: probe.status, msAfterStepDown: probe.at - at }));
    expect.soft(notReady, "/readyz answers other than 200 through the step-down (a secondary could serve reads)").toEqual([]);
  });

  /**
   * Until the primary dies, B reads nothing of the change log from it; and from now on no change
   * stream event reaches B from any member (a change stream may live on a secondary: after a
   * step-down it stays on the former primary). So the revoke acknowledged next can only reach B by
   * what B reads of the change log once the primary is gone: the case, where the entry
   * died with the primary. B's other reads, and its polls of the secondaries, are left alone; its
   * polls carry every later change to it (the last scenario: nothing after it needs the stream).
   */
  async function silenceBUntilTheKill(primary: string): Promise<void> {
    const namespace = `${fleet.data.databaseName}.${COLLECTIONS.keyChanges}`;
    for (const host of fleet.set.hosts) {
      const commands = host === primary ? ["find", "getMore", "aggregate"] : ["getMore"];
      await fleet.set.stall(host, { appName: B_APP_NAME, namespace, commands });
    }
    await fleet.set.settle();
  }

  it("SIGKILL of the primary: the revoke just before is enforced, nothing lost, no Check hangs", { timeout: 180_000 }, async () => {
    let killed = "";
    const run = await underLoad(
      "sigkill",
      async (load, sentinel) => {
        killed = await fleet.set.waitForPrimary(30_000);
        const bBlindFrom = Date.now();
        await silenceBUntilTheKill(killed);
        const sentinelRevoke = await load.changeUntilAcknowledged("revoke", sentinel, Date.now() + RETRY_MS);
        const at = Date.now();
        await fleet.set.kill(killed);
        return { kind: "SIGKILL", at, bBlindFrom, election: await fleet.set.waitForElection(killed, 60_000), sentinelRevoke };
      },
      // The killed member rejoins (rolling back whatever only it had) before the data is read.
      () => fleet.set.restart(killed, 120_000),
    );
    await expectRodeThrough(run);
  });
});
