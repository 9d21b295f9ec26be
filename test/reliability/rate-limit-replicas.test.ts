import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../support/app.js";
import { checker } from "./check-client.js";
import { startReplicaPair, type ReplicaPair } from "./replica-pair.js";

/**
 * Rate limits across two replicas on one real MongoDB: each pushes the requests it admitted and
 * reads back the others' every KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS. The test waits on the store
 * and on what B reports rather than on the clock, so it holds on a slow machine: once B has
 * synced, what A admitted counts on B, and the two together admit exactly the limit (with the
 * sync off, B would admit its own full limit again: 51, not 40).
 */
const LIMIT = 40;
const SYNC_INTERVAL_MS = 100;

describe("rate limits across replicas", () => {
  let pair: ReplicaPair;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    pair = await startReplicaPair({
      // A second organization on this plan gets a per-minute rate of LIMIT.
      plans: (plans) => plans.map((p) => (p.name === "pro" ? { ...p, requestsPerMinute: LIMIT } : p)),
      env: { KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS: String(SYNC_INTERVAL_MS) },
    });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  /** Sends `count` Checks to one replica, one after another; how many were allowed, by outcome. */
  async function send(app: TestApp, secret: string, count: number): Promise<Record<string, number>> {
    const check = checker(app.app.url);
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const outcome = await check(secret);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    return outcomes;
  }

  /** The fleet's count of a bucket as stored: every replica's pushed requests. */
  async function stored(bucket: string): Promise<number> {
    const slots = await pair.db.collection<{ bucket: string; count: number }>("rate_limit_slots").find({ bucket }).toArray();
    return slots.reduce((sum, slot) => sum + slot.count, 0);
  }

  /**
   * A admits 30; B admits 1 (B decides on its own counts until its next sync: the documented lag)
   * and syncs, which brings A's 30; then of 20 more on B only the 9 left fit.
   */
  async function shareOneBucket(secret: string, bucket: string, denial: string, bSees: () => Promise<number>): Promise<void> {
    expect(await send(a, secret, 30)).toEqual({ allowed: 30 });
    await expect.poll(() => stored(bucket), { timeout: 10_000 }).toBe(30);
    expect(await send(b, secret, 1)).toEqual({ allowed: 1 });
    await expect.poll(() => stored(bucket), { timeout: 10_000 }).toBe(31);
    await expect.poll(bSees, { timeout: 10_000 }).toBe(31);
    expect(await send(b, secret, 20)).toEqual({ allowed: LIMIT - 31, [denial]: 20 - (LIMIT - 31) });
    await expect.poll(() => stored(bucket), { timeout: 10_000 }).toBe(LIMIT);
  }

  it(`a key limited to ${LIMIT}/minute: what A admitted counts on B, so together they admit exactly ${LIMIT}`, async () => {
    const { key, secret } = await a.client.createKey({
      name: "limited",
      scopes: ["machines:read"],
      rateLimit: LIMIT,
      rateLimitPeriod: RateLimitPeriod.MINUTE,
    });
    // B's view of the key's limit, as TestKey on B reports it to the key's organization.
    const bSees = async () => LIMIT - ((await b.clientFor(a.admin.secret).testKey({ apiKey: secret })).rateLimit?.remaining ?? LIMIT);
    await shareOneBucket(secret, `key/${key!.id}/minute`, "RATE_LIMITED", bSees);
  });

  it(`an organization's ${LIMIT}/minute plan rate holds across both replicas the same way`, async () => {
    const organization = await a.anotherOrganization("pro");
    const { secret } = await a.clientFor(organization.secret).createKey({ name: "unlimited key", scopes: ["machines:read"] });
    // B's view of the organization's last minute, as GetQuotaStatus reports it.
    const bSees = async () => Number((await b.clientFor(organization.secret).getQuotaStatus({})).rateLimits?.currentUsage ?? 0);
    await shareOneBucket(secret, `org/${organization.organization.id}`, "QUOTA_EXCEEDED", bSees);
  });
});
