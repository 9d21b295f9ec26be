import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorization, CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { generateSecret } from "../../src/model/secret.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";

/**
 * A bounded soak on the real MongoDB, with everything a replica runs in the background (usage
 * flushes, the change feed, budget leases of keys with limits): Check load on a set of valid
 * keys mixed with a flood of random keys from random IPs, for SOAK_MS. Once the bounded
 * structures (key cache, negative cache, throttles) are full, the heap must stay flat: the median
 * heap of the last window may exceed the first window's by at most GROWTH_BOUND_BYTES (heap
 * measured after a full GC).
 */
const SOAK_MS = 30_000;
const WINDOW_MS = 5_000;
const GROWTH_BOUND_BYTES = 8 * 1024 * 1024;
const CONCURRENCY = 32;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
/** A real full GC before each sample: vitest runs without --expose-gc, so switch it on here. */
function exposedGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as (() => void) | undefined;
}
const gc = exposedGc();

describe("soak", () => {
  let mongo: FreshMongoStore;
  let t: TestApp;
  beforeAll(async () => {
    mongo = await freshMongoStore();
    t = await startTestApp({
      store: mongo.store,
      closeStore: false,
      env: {
        // Small bounds, so they are reached during the first window.
        KEYGATE_CACHE_MAX_ENTRIES: "2000",
        KEYGATE_THROTTLE_MAX_SOURCES: "1000",
        KEYGATE_USAGE_FLUSH_INTERVAL_MS: "200",
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await mongo?.cleanup();
  });

  it(`heap stays flat under ${SOAK_MS / 1000} s of Check load with a random-key flood`, { timeout: SOAK_MS + 30_000 }, async () => {
    // Limits (the plan's highest) above what each key gets: every window is counted and leased.
    const keys = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.client.createKey({ name: `soak ${i}`, scopes: ["machines:read"], rateLimit: 6_000, rateLimitPeriod: RateLimitPeriod.MINUTE }),
      ),
    );
    const authz = createClient(Authorization, createGrpcTransport({ baseUrl: t.app.url }));
    const request = (secret: string, ip: string) =>
      create(CheckRequestSchema, {
        attributes: {
          source: { address: { address: { case: "socketAddress", value: { address: ip, portSpecifier: { case: "portValue", value: 5555 } } } } },
          request: { http: { method: "GET", path: "/machines/42", host: "api.example.com", headers: { "x-api-key": secret, ":path": "/machines/42" } } },
          contextExtensions: { required_scopes: "machines:read" },
        },
      });
    const started = performance.now();
    let checks = 0;
    let failures = 0;
    const worker = async (n: number) => {
      for (let i = 0; performance.now() - started < SOAK_MS; i++) {
        const flood = i % 2 === 0;
        const secret = flood ? generateSecret("live") : keys[(n + i) % keys.length]!.secret;
        const ip = flood ? `198.51.${(i * 7 + n) % 256}.${i % 256}` : "10.1.2.3";
        try {
          await authz.check(request(secret, ip));
        } catch {
          failures++;
        }
        checks++;
      }
    };
    const samples: { atMs: number; heap: number }[] = [];
    const sampler = setInterval(() => {
      gc?.();
      samples.push({ atMs: performance.now() - started, heap: process.memoryUsage().heapUsed });
    }, 500);
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => worker(n)));
    } finally {
      clearInterval(sampler);
    }
    const first = median(samples.filter((s) => s.atMs >= WINDOW_MS && s.atMs < 2 * WINDOW_MS).map((s) => s.heap));
    const last = median(samples.filter((s) => s.atMs >= SOAK_MS - WINDOW_MS).map((s) => s.heap));
    console.info(`soak: ${checks} checks, ${failures} failed; heap median ${(first / 2 ** 20).toFixed(1)} MiB → ${(last / 2 ** 20).toFixed(1)} MiB; cache ${JSON.stringify(t.app.keyCache.stats)}`);
    expect(gc).toBeTypeOf("function");
    expect(failures).toBe(0);
    expect(checks).toBeGreaterThan(1_000);
    expect(t.app.keyCache.stats.entries + t.app.keyCache.stats.unknown).toBeLessThanOrEqual(2 * 2_000);
    expect(last - first).toBeLessThan(GROWTH_BOUND_BYTES);
  });
});
