import { beforeAll, describe, expect, it } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { LimitOwner, RateLimitPeriod, RefillInterval, type TestKeyResponse } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";
import { checkerFor } from "../clients.js";
import { keyCreator, type SuiteApp } from "./suite-app.js";

/**
 * TestKey shows all a Check of the key spends, after Checks spent on it, spending nothing itself:
 * its rate limit (`default`), its named limits, its identity's, and both credit balances. Every
 * limit is per day: on MongoDB the leased windows follow the store's clock, not the suite's.
 *
 * Balances show `left` as GetKey and GetIdentity do. On the embedded store that is exact; across
 * replicas (MongoDB) it is what no replica has taken yet, so the slice this replica leased and
 * has not spent is not in it (docs/limits.md#credits): there the test holds TestKey to GetKey's
 * and GetIdentity's figures, and to at most the exact ones.
 */
export function describeTestKeySpending(suite: () => SuiteApp): void {
  let t: TestApp;
  let clock: ManualClock;
  let check: (secret: string) => Promise<string>;
  beforeAll(() => {
    ({ t, clock } = suite());
    check = checkerFor(t);
  });
  const createKey = keyCreator(() => t);

  /** Each limit as `owner:name limit/period remaining`, each balance as `owner left/limit`. */
  const figures = (answer: TestKeyResponse) => ({
    rateLimit: answer.rateLimit && `${answer.rateLimit.limit}/${RateLimitPeriod[answer.rateLimit.period]} ${answer.rateLimit.remaining}`,
    limits: answer.limits.map((l) => `${LimitOwner[l.owner]}:${l.name} ${l.limit}/${RateLimitPeriod[l.period]} ${l.remaining}`),
    credits: answer.credits.map((c) => `${LimitOwner[c.owner]} ${c.left}/${c.limit}`),
  });

  /**
   * The balances TestKey must show, given the exact `left` of each (key's first): those figures on
   * the embedded store; GetKey's and GetIdentity's `left`, never above them, across replicas.
   */
  const balances = async (keyId: string, identityId: string | null, exact: [string, bigint, bigint][]): Promise<string[]> => {
    if (!t.store.sharedAcrossProcesses) return exact.map(([owner, left, limit]) => `${owner} ${left}/${limit}`);
    const shown = [(await t.client.getKey({ id: keyId })).key!.credits!.left!];
    if (identityId !== null) shown.push((await t.client.getIdentity({ id: identityId })).identity!.credits!.left!);
    return exact.map(([owner, left, limit], i) => {
      expect(shown[i]).toBeLessThanOrEqual(left);
      return `${owner} ${shown[i]}/${limit}`;
    });
  };

  describe("TestKey with named limits, an identity and credits", () => {
    it("shows exactly what Checks left of every limit and balance, and spends nothing", async () => {
      const { identity } = await t.client.createIdentity({
        externalId: `testkey-${clock.now()}`,
        limits: [{ name: "team", limit: 6, period: RateLimitPeriod.DAY }],
        credits: { remaining: 10n },
      });
      const { key, secret } = await createKey({
        rateLimit: 7,
        rateLimitPeriod: RateLimitPeriod.DAY,
        limits: [{ name: "daily", limit: 5, period: RateLimitPeriod.DAY }],
        credits: { remaining: 4n, refill: { amount: 4n, interval: RefillInterval.DAILY } },
        identityId: identity!.id,
      });
      for (let i = 0; i < 3; i++) expect(await check(secret)).toBe("allowed");

      const first = await t.client.testKey({ apiKey: secret });
      expect(first).toMatchObject({ valid: true, keyId: key!.id });
      expect(figures(first)).toEqual({
        rateLimit: "7/DAY 4",
        limits: ["KEY:default 7/DAY 4", "KEY:daily 5/DAY 2", "IDENTITY:team 6/DAY 3"],
        credits: await balances(key!.id, identity!.id, [["KEY", 1n, 4n], ["IDENTITY", 7n, 10n]]),
      });
      // rate_limit is the limit named default, reset time included; the key's balance refills at the next UTC midnight, the identity's never.
      expect(first.limits[0]!.resetAt).toEqual(first.rateLimit!.resetAt);
      expect(first.credits[0]!.refillsAt).toEqual(timestampFromMs(Math.ceil((clock.now() + 1) / 86_400_000) * 86_400_000));
      expect(first.credits[1]!.refillsAt).toBeUndefined();
      // Nothing spent: a second TestKey finds the same, and exactly what it showed is left to Checks.
      expect(await t.client.testKey({ apiKey: secret })).toEqual(first);
      expect(await check(secret)).toBe("allowed");
      expect(await check(secret)).toBe("CREDITS_EXHAUSTED");
      expect(figures(await t.client.testKey({ apiKey: secret }))).toEqual({
        rateLimit: "7/DAY 3",
        limits: ["KEY:default 7/DAY 3", "KEY:daily 5/DAY 1", "IDENTITY:team 6/DAY 2"],
        credits: await balances(key!.id, identity!.id, [["KEY", 0n, 4n], ["IDENTITY", 6n, 10n]]),
      });
    });

    it("shows only the key's own once its identity is gone", async () => {
      const { identity } = await t.client.createIdentity({ externalId: `gone-${clock.now()}`, limits: [{ name: "team", limit: 6, period: RateLimitPeriod.DAY }], credits: { remaining: 10n } });
      const { key, secret } = await createKey({ rateLimit: 7, rateLimitPeriod: RateLimitPeriod.DAY, credits: { remaining: 4n }, identityId: identity!.id });
      expect(await check(secret)).toBe("allowed");
      // An identity is deleted only once no unrevoked key is tied to it.
      await t.client.revokeKey({ id: key!.id });
      await t.client.deleteIdentity({ id: identity!.id });
      const answer = await t.client.testKey({ apiKey: secret });
      expect(answer).toMatchObject({ valid: false, reason: "API_KEY_REVOKED" });
      expect(figures(answer)).toEqual({ rateLimit: "7/DAY 6", limits: ["KEY:default 7/DAY 6"], credits: await balances(key!.id, null, [["KEY", 3n, 4n]]) });
    });

    it("shows no limits and no credits for a key without them, beside its rate limit", async () => {
      const { secret } = await createKey({ rateLimit: 9, rateLimitPeriod: RateLimitPeriod.DAY });
      expect(figures(await t.client.testKey({ apiKey: secret }))).toEqual({ rateLimit: "9/DAY 9", limits: ["KEY:default 9/DAY 9"], credits: [] });
    });
  });
}
