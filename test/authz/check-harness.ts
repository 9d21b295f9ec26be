import { readdirSync, readFileSync } from "node:fs";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { expect } from "vitest";
import pino from "pino";
import { CheckRequestSchema, type CheckRequest, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { CheckService, type AuthorizationDeps } from "../../src/authz/check-service.js";
import { KeyCache } from "../../src/cache/key-cache.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import type { Plan } from "../../src/model/plans.js";
import { newId } from "../../src/model/ids.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { generateSecret, keyPrefixOf, SecretHasher, type Environment } from "../../src/model/secret.js";
import { expectWellFormed } from "./well-formed.js";
import { IdentityCache, type LoadIdentity } from "../../src/cache/identity-cache.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import type { LoadMonthlyRequests } from "../../src/limits/monthly-quota.js";
import type { KeyRepository, Store } from "../../src/store/store.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { KeyRecord } from "../../src/model/records.js";
import { ManualClock } from "../../src/time/clock.js";
import type { CheckUsageEvent, UsageRecorder } from "../../src/usage/usage-event.js";
import { storeWith } from "../support/store-with.js";

/** A Check service over a store (memory unless given), a manual clock and a recording usage sink. */

export const PEPPER = "check-tests-pepper-0123456789abcdefghijklmnop";
export const TEST_PLAN: Plan = {
  name: "test",
  maxKeysPerOrganization: 1_000,
  maxKeysPerUser: 1_000,
  maxIdentities: 1_000,
  maxRateLimitPerMinute: 1_000_000,
  monthlyQuota: 1_000_000,
  requestsPerMinute: 1_000_000,
  canCreateAdminKeys: true,
  currency: "USD",
  pricePerThousandRequests: 0,
  pricePerMegabyte: 0,
};

export class RecordingUsage implements UsageRecorder {
  readonly events: CheckUsageEvent[] = [];
  record(event: CheckUsageEvent): void {
    this.events.push(event);
  }
}

/** Counts every call on the store's key and organization repositories. */
export function countingStore(inner: Store): { store: Store; calls: { keys: Map<string, number>; organizations: Map<string, number>; total(): number } } {
  const keys = new Map<string, number>();
  const organizations = new Map<string, number>();
  const counted = <T extends object>(target: T, counts: Map<string, number>): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          counts.set(String(property), (counts.get(String(property)) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      },
    });
  const countedKeys: KeyRepository = counted(inner.keys, keys);
  const countedOrganizations = counted(inner.organizations, organizations);
  const store = storeWith(inner, { keys: countedKeys, organizations: countedOrganizations });
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return { store, calls: { keys, organizations, total: () => sum(keys) + sum(organizations) } };
}

export interface HarnessOptions {
  config?: Partial<Config>;
  plan?: Partial<Plan>;
  loadMonthlyRequests?: LoadMonthlyRequests;
  /** The store keys live in (default: a new MemoryStore). */
  backing?: Store;
  /** Wraps the store before the service sees it (e.g. to count or break calls). */
  wrapStore?: (store: Store) => Store;
  /** Where the service's identity cache reads identities from (default: no identities at all). */
  loadIdentity?: LoadIdentity;
}

export interface KeyOptions {
  scopes?: string[];
  allowIps?: string[];
  rateLimit?: KeyRecord["rateLimit"];
  limits?: KeyRecord["limits"];
  identityId?: string;
  credits?: KeyRecord["credits"];
  isActive?: boolean;
  revoked?: boolean;
  /** Expiry relative to the clock's now. */
  expiresInMs?: number | null;
  environment?: Environment;
  organizationId?: string;
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;

export async function createHarness(options: HarnessOptions = {}) {
  const clock = new ManualClock();
  const backing = options.backing ?? new MemoryStore();
  const store = options.wrapStore ? options.wrapStore(backing) : backing;
  const plan: Plan = { ...TEST_PLAN, ...options.plan };
  const config: Config = {
    ...loadConfig({ KEYGATE_PEPPER: PEPPER }),
    plans: [plan],
    defaultPlan: plan.name,
    cacheMaxEntries: 10_000,
    ...options.config,
  };
  const keyEvents = new KeyEvents();
  const hasher = new SecretHasher(PEPPER);
  const usage = new RecordingUsage();
  const logger = pino({ level: "silent" });
  const keyCache = new KeyCache({ store, keyEvents, clock, config, logger, maxOrganizations: 1_000 });
  const monthlyLoads: Array<{ organizationId: string; monthStartMs: number }> = [];
  const loadMonthlyRequests: LoadMonthlyRequests = async (organizationId, monthStartMs) => {
    monthlyLoads.push({ organizationId, monthStartMs });
    return options.loadMonthlyRequests ? options.loadMonthlyRequests(organizationId, monthStartMs) : 0;
  };
  const limits = new LocalLimits({ clock, loadMonthlyRequests, maxBuckets: 10_000, maxOrganizations: 1_000 });
  const identityCache = options.loadIdentity === undefined ? undefined : new IdentityCache({ loadIdentity: options.loadIdentity, ttlMs: config.cacheTtlMs });
  const deps: AuthorizationDeps = {
    config,
    hasher,
    keyCache,
    limits,
    clock,
    usage,
    logger,
    ...(identityCache !== undefined && { identities: (key) => identityCache.lookup(key) }),
  };
  const service = new CheckService(deps);

  const organizationId = newId("org", clock.now());
  const userId = newId("user", clock.now());
  await backing.organizations.create({ id: organizationId, name: "Acme", plan: plan.name, createdAt: new Date(clock.now()) });
  await backing.users.create({ id: userId, organizationId, name: "Ada", role: "owner", createdAt: new Date(clock.now()) });

  async function createKey(keyOptions: KeyOptions = {}): Promise<{ secret: string; key: KeyRecord }> {
    const secret = generateSecret(keyOptions.environment ?? "live");
    const now = new Date(clock.now());
    const record: KeyRecord = {
      id: newId("key", clock.now()),
      organizationId: keyOptions.organizationId ?? organizationId,
      name: "test key",
      description: "",
      keyPrefix: keyPrefixOf(secret),
      secretHash: hasher.hash(secret),
      previousSecret: null,
      environment: keyOptions.environment ?? "live",
      keyType: "user",
      ownerUserId: userId,
      scopes: keyOptions.scopes ?? [],
      allowIps: keyOptions.allowIps ?? [],
      rateLimit: keyOptions.rateLimit ?? null,
      ...(keyOptions.limits !== undefined && { limits: keyOptions.limits }),
      ...(keyOptions.identityId !== undefined && { identityId: keyOptions.identityId }),
      ...(keyOptions.credits !== undefined && { credits: keyOptions.credits }),
      isActive: keyOptions.isActive ?? true,
      revokedAt: keyOptions.revoked ? now : null,
      expiresAt: keyOptions.expiresInMs == null ? null : new Date(clock.now() + keyOptions.expiresInMs),
      createdAt: now,
      createdBy: "bootstrap",
      updatedAt: now,
    };
    const created = await backing.keys.create(record, { organizationMax: 1_000_000, userMax: 1_000_000 });
    if (!created.ok) throw new Error(`cannot create key: ${created.reason}`);
    return { secret, key: created.key };
  }

  return { clock, store, backing, config, plan, keyEvents, hasher, usage, keyCache, identityCache, limits, deps, service, organizationId, userId, monthlyLoads, createKey };
}

/** A CheckRequest as Envoy sends it for `GET path` with these headers, from a TCP peer. */
export function envoyRequest(
  headers: Record<string, string>,
  options: { path?: string; method?: string; sourceIp?: string; contextExtensions?: Record<string, string> } = {},
): CheckRequest {
  const path = options.path ?? "/v1/machines?page=2";
  const method = options.method ?? "GET";
  return fromJson(CheckRequestSchema, {
    attributes: {
      source: { address: { socketAddress: { address: options.sourceIp ?? "10.1.2.3", portValue: 51234 } } },
      destination: { address: { socketAddress: { address: "10.0.0.10", portValue: 8080 } } },
      request: {
        http: {
          id: "req-1",
          method,
          path,
          host: "api.example.com",
          scheme: "https",
          protocol: "HTTP/2",
          headers: { ":authority": "api.example.com", ":method": method, ":path": path, "x-request-id": "req-1", ...headers },
        },
      },
      contextExtensions: options.contextExtensions ?? {},
    },
  });
}

export function headerMap(options: { headers: Array<{ header?: { key: string; value: string }; append?: boolean }> } | undefined) {
  const map = new Map<string, string>();
  for (const option of options?.headers ?? []) if (option.header) map.set(option.header.key, option.header.value);
  return map;
}

/** The outcome a CheckResponse communicates: "allowed" or the JSON body's code. */
export function outcomeOf(response: CheckResponse): string {
  if (response.httpResponse.case === "okResponse") return "allowed";
  if (response.httpResponse.case === "deniedResponse") {
    return (JSON.parse(response.httpResponse.value.body) as { error: { code: string } }).error.code;
  }
  return "none";
}

export interface CheckFixture {
  description: string;
  config?: Partial<Pick<Config, "trustedProxyHops" | "routes">>;
  plan?: Partial<Plan>;
  /** Absent: no key is created (the request carries no secret or an unknown one). */
  key?: KeyOptions;
  /** How many identical requests to send; the last one is checked. */
  repeat?: number;
  request: JsonValue;
  expect: { outcome: string; httpStatus?: number; grpcCode: number; headersToRemove?: string[]; headers?: Record<string, string | null> };
}

const FIXTURES = new URL("../fixtures/check/", import.meta.url);

export function loadFixtures(): Array<[string, CheckFixture]> {
  return readdirSync(FIXTURES)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => [name.replace(/\.json$/, ""), JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as CheckFixture]);
}

/** Replaces `$SECRET`-style placeholders anywhere in a JSON value. */
export function substitute(value: JsonValue, replacements: Record<string, string>): JsonValue {
  if (typeof value === "string") return value.replace(/\$[A-Z_]+/g, (name) => replacements[name] ?? name);
  if (Array.isArray(value)) return value.map((item) => substitute(item, replacements));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, replacements)]));
  }
  return value;
}

/** The harness options a fixture asks for. */
export function fixtureOptions(fixture: CheckFixture): HarnessOptions {
  return { ...(fixture.config && { config: fixture.config }), ...(fixture.plan && { plan: fixture.plan }) };
}

/** Creates the fixture's key (if any) and returns its request with the placeholders filled in. */
export async function fixtureRequest(h: Harness, fixture: CheckFixture): Promise<CheckRequest> {
  const secret = fixture.key ? (await h.createKey(fixture.key)).secret : generateSecret("live");
  const last = secret.at(-1)!;
  return fromJson(
    CheckRequestSchema,
    substitute(fixture.request, {
      $SECRET: secret,
      $OTHER_SECRET: generateSecret("live"),
      $BAD_CHECKSUM_SECRET: secret.slice(0, -1) + (last === "A" ? "B" : "A"),
    }),
  );
}

/** Sends the fixture's request `repeat` times through `check` and asserts on the last answer. */
export async function expectFixtureAnswer(fixture: CheckFixture, request: CheckRequest, check: (r: CheckRequest) => Promise<CheckResponse>): Promise<void> {
  let response = await check(request);
  for (let i = 1; i < (fixture.repeat ?? 1); i++) response = await check(request);
  expectWellFormed(response);
  expect(outcomeOf(response)).toBe(fixture.expect.outcome);
  expect(response.status?.code ?? 0).toBe(fixture.expect.grpcCode);
  if (response.httpResponse.case === "deniedResponse") {
    expect(response.httpResponse.value.status?.code).toBe(fixture.expect.httpStatus);
    const headers = headerMap(response.httpResponse.value);
    for (const [name, value] of Object.entries(fixture.expect.headers ?? {})) expect(headers.get(name) ?? null, name).toBe(value);
  } else {
    expect(response.httpResponse.case).toBe("okResponse");
    expect(response.httpResponse.value?.headersToRemove).toEqual(fixture.expect.headersToRemove);
  }
}
