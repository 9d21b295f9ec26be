import pino from "pino";
import { CheckRequestDecoder } from "../../src/authz/check-request-decoder.js";
import { CheckService } from "../../src/authz/check-service.js";
import { KeyCache } from "../../src/cache/key-cache.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import type { CheckLimits } from "../../src/limits/check-limits.js";
import type { Plan } from "../../src/model/plans.js";
import type { KeyRecord } from "../../src/model/records.js";
import { SecretHasher } from "../../src/model/secret.js";
import type { Store } from "../../src/store/store.js";
import { systemClock } from "../../src/time/clock.js";
import { BENCH_PEPPER, population } from "./keys.js";

/**
 * What the bench's keygate runs on, shared by the servers and the in-process measurements: the
 * plan (limits that never bind, so every case measures the path it names, not the plan), the
 * seeding of the key population, and the Check path without a network.
 */

export const BENCH_PLAN: Plan = {
  name: "bench",
  maxKeysPerOrganization: 10_000_000,
  maxKeysPerUser: 10_000_000,
  maxIdentities: 10_000_000,
  maxRateLimitPerMinute: 1_000_000_000,
  monthlyQuota: 1_000_000_000_000_000,
  requestsPerMinute: 1_000_000_000_000,
  canCreateAdminKeys: true,
  currency: "USD",
  pricePerThousandRequests: 0,
  pricePerMegabyte: 0,
};

/** keygate's settings from `env` on the bench plan and pepper. */
export function benchConfig(env: NodeJS.ProcessEnv): Config {
  return { ...loadConfig({ ...env, KEYGATE_PEPPER: BENCH_PEPPER }), plans: [BENCH_PLAN], defaultPlan: BENCH_PLAN.name };
}

/**
 * Stores the first `count` keys of the population of `seed` (keys.ts) and their organizations,
 * unless the store already holds them. `adjust` reshapes a key (its rate limit) before it is stored.
 */
export async function seedPopulation(store: Store, seed: string, count: number, adjust?: (key: KeyRecord, index: number) => KeyRecord): Promise<void> {
  const { organizations, keys } = population(seed, count, BENCH_PLAN.name);
  if ((await store.organizations.findById(organizations[0]!.id)) !== null) return;
  for (const organization of organizations) await store.organizations.create(organization);
  const slots = { organizationMax: BENCH_PLAN.maxKeysPerOrganization, userMax: BENCH_PLAN.maxKeysPerUser };
  let index = 0;
  for (const key of keys()) {
    const created = await store.keys.create(adjust ? adjust(key, index) : key, slots);
    if (!created.ok) throw new Error(`seeding failed: ${created.reason}`);
    index++;
  }
}

/** Envoy as deployed: a caller that passed the data plane's boundary. */
const ENVOY = { passedBoundary: true, peer: "127.0.0.1" };

export interface CheckPath {
  service: CheckService;
  keyCache: KeyCache;
  /** The lean gRPC route's work on one request's bytes: synchronous on a cache hit that needs no lease. */
  lean(request: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** CheckService over `store` and `limits`, with usage recording and metrics left out (no-ops). */
export function checkPath(config: Config, store: Store, limits: CheckLimits): CheckPath {
  const keyCache = new KeyCache({ store, keyEvents: new KeyEvents(), clock: systemClock, config });
  const service = new CheckService({
    config,
    hasher: new SecretHasher(BENCH_PEPPER),
    keyCache,
    limits,
    clock: systemClock,
    usage: { record() {} },
    logger: pino({ level: "silent" }),
  });
  const decoder = new CheckRequestDecoder();
  return { service, keyCache, lean: (request) => service.checkFields(decoder.decode(request), ENVOY) };
}
