import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { systemClock } from "../../src/time/clock.js";
import { fleetChecker, tally } from "./fleet-load.js";
import { startReplicaFleet, type ReplicaFleet } from "./replica-fleet.js";

/**
 * Issue 15's steady load on a real MongoDB: a key limited to LIMIT a second gets 90% of that,
 * evenly paced and spread over 2 and 3 replicas, for a few seconds (a few windows, each opened by
 * every replica), and every Check is admitted: slices follow the key's rate, the next is asked
 * for before the last runs out, and what one replica holds unused does not starve another.
 */
const LIMIT = 20;
const PER_SECOND = Math.round(0.9 * LIMIT);
const SECONDS = 4;

describe.each([2, 3])(`a steady load of ${PER_SECOND}/s against ${LIMIT}/s over %i replicas`, (size) => {
  let fleet: ReplicaFleet;

  beforeAll(async () => {
    fleet = await startReplicaFleet({ size, clock: systemClock, plan: "enterprise" });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it(`${PER_SECOND} Checks a second against ${LIMIT}/second for ${SECONDS} s: all admitted`, async () => {
    const { secret } = await fleet.replicas[0]!.client.createKey({
      name: "steady",
      scopes: ["machines:read"],
      rateLimit: LIMIT,
      rateLimitPeriod: RateLimitPeriod.SECOND,
    });
    const fleetCheck = fleetChecker(fleet.replicas);
    const intervalMs = 1_000 / PER_SECOND;
    const startedMs = performance.now();
    const checks: Promise<string>[] = [];
    for (let i = 0; i < PER_SECOND * SECONDS; i++) {
      // Paced from the start, not from the last send: a late timer does not slow the load down.
      const dueMs = startedMs + i * intervalMs - performance.now();
      if (dueMs > 0) await new Promise((resolve) => setTimeout(resolve, dueMs));
      checks.push(fleetCheck.at(i)(secret));
    }
    const outcomes = tally(await Promise.all(checks));
    console.info(`${size} replicas, ${PER_SECOND}/s of ${LIMIT}/s for ${SECONDS} s: ${JSON.stringify(outcomes)}`);
    expect(outcomes).toEqual({ allowed: PER_SECOND * SECONDS });
  });
});
