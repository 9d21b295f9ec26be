import { RateLimitPeriod, RefillInterval } from "../../gen/keygate/v1/key_admin_pb.js";
import { envoyCheck } from "../metrics/envoy-check.js";
import type { TestApp } from "./app.js";

/**
 * A key that spends on everything a Check can spend on, after one allowed Check: its rate limit
 * (7/hour: 6 left), a named limit (daily 5/day: 4 left), its identity's limit (team 6/hour: 5 left),
 * its own credits (4, refilled daily: 3 left) and its identity's (10, no refill: 9 left). What the
 * CLI's and the console's TestKey views are read against.
 */
export async function meteredKeyCheckedOnce(t: TestApp, externalId: string): Promise<string> {
  const { identity } = await t.client.createIdentity({ externalId, limits: [{ name: "team", limit: 6, period: RateLimitPeriod.HOUR }], credits: { remaining: 10n } });
  const { secret } = await t.client.createKey({
    name: "metered",
    scopes: [],
    rateLimit: 7,
    rateLimitPeriod: RateLimitPeriod.HOUR,
    limits: [{ name: "daily", limit: 5, period: RateLimitPeriod.DAY }],
    credits: { remaining: 4n, refill: { amount: 4n, interval: RefillInterval.DAILY } },
    identityId: identity!.id,
  });
  if (((await envoyCheck(t.app.url).check(secret)).status?.code ?? 0) !== 0) throw new Error("the metered key's first Check was denied");
  return secret;
}
