import { resolve } from "node:path";
import type { TrafficShape } from "./key-choice.js";
import { benchSecret, HIT, LIMITED, malformedSecret, NO_SCOPE, unknownSecret } from "./keys.js";

/** What the bench measures: each case's server, its keys, the key presented and the decision expected. */

export type ServerKind = "bare-http2" | "connect-noop" | "grpcjs-noop" | "keygate";

export interface Case {
  id: string;
  title: string;
  server: ServerKind;
  /** keygate: keys in the store, workers, MongoDB. */
  keys?: number;
  workers?: number;
  mongo?: boolean;
  /** The key presented, and the decision every response must carry. */
  secret: () => string;
  expect: string;
  /** h2load (one request body), or the frame generator (frame-load.ts), which can spread requests over keys. */
  generator: "h2load" | "frames";
  /**
   * Frame generator: how requests spread over the keys in use (secret-table.ts), after one warm
   * pass over all of them; absent, every request presents the allowed key.
   */
  spread?: TrafficShape;
  /** Repeated every round (the headline comparison); others run once. */
  headline?: boolean;
  /** Also measured at half its throughput, for the p99 target. */
  halfRate?: boolean;
  /** The cases this one is compared with in the report: run with it whatever --only says. */
  baselines?: string[];
  /**
   * The case that measures this one's server again, right after it in the same round: a spread
   * case's twin over the same keys takes over the warmed server rather than seeding and warming
   * its own (minutes for a million keys).
   */
  keepsServerFor?: string;
  /** The server script's build directory, when not this checkout's (--compare). */
  buildDir?: string;
}

/** Every case, in the order they run and are reported; with `compare`, the keygate built in that checkout too. */
export function benchCases(seed: string, quick: boolean, compare: string | undefined): Case[] {
  const hitSecret = () => benchSecret(seed, HIT);
  const scale = { server: "keygate", secret: hitSecret, expect: "allowed", generator: "frames", headline: true } as const;
  // Seeding and warming a million keys takes minutes: --quick measures the spread cases in its first round only.
  const spreadOver = { ...scale, headline: !quick, baselines: ["scale-a", "scale-hot"] };
  const CASES: Case[] = [
    { id: "a", title: "(a) bare node:http2, fixed OK", server: "bare-http2", secret: hitSecret, expect: "allowed", generator: "h2load", headline: true, halfRate: true },
    { id: "b", title: "(b) no-op Check, connect-node", server: "connect-noop", secret: hitSecret, expect: "allowed", generator: "h2load", headline: true },
    { id: "c", title: "(c) no-op Check, grpc-js", server: "grpcjs-noop", secret: hitSecret, expect: "allowed", generator: "h2load", headline: true },
    { id: "hit", title: "keygate allowed, cache hit (10 keys)", server: "keygate", keys: 10, secret: hitSecret, expect: "allowed", generator: "h2load", headline: true, halfRate: true },
    { id: "cluster", title: "keygate allowed, cache hit, 2 workers", server: "keygate", keys: 10, workers: 2, secret: hitSecret, expect: "allowed", generator: "h2load", headline: !quick },
    { id: "scope", title: "keygate denied: scope missing", server: "keygate", keys: 10, secret: () => benchSecret(seed, NO_SCOPE), expect: "SCOPE_MISSING", generator: "h2load" },
    { id: "limited", title: "keygate denied: rate limited", server: "keygate", keys: 10, secret: () => benchSecret(seed, LIMITED), expect: "RATE_LIMITED", generator: "h2load" },
    { id: "unknown", title: "keygate denied: unknown key (negative cache)", server: "keygate", keys: 10, secret: () => unknownSecret(seed), expect: "API_KEY_INVALID", generator: "h2load" },
    { id: "malformed", title: "keygate denied: malformed key (checksum)", server: "keygate", keys: 10, secret: () => malformedSecret(seed), expect: "API_KEY_INVALID", generator: "h2load" },
    { id: "hit100k", title: "keygate allowed, cache hit (100,000 keys, one hot)", server: "keygate", keys: 100_000, secret: hitSecret, expect: "allowed", generator: "h2load" },
    // LeasedLimits (the store is shared): the hot key's slices are asked for ahead, so no Check waits
    // and the store sees a lease every few seconds per bucket (issue 15); compared with "hit" round by round.
    { id: "mongo", title: "keygate allowed, cache hit, MongoDB (leased limits, under Wine)", server: "keygate", keys: 10, mongo: true, secret: hitSecret, expect: "allowed", generator: "h2load", headline: !quick, baselines: ["hit"] },
    // Scale (issue 16): the same frame generator for all, so their ratios are the server's alone.
    { id: "scale-a", title: "(a) bare node:http2, frame generator", server: "bare-http2", secret: hitSecret, expect: "allowed", generator: "frames", headline: true },
    { id: "scale-hot", title: "keygate allowed, hot key (10 keys stored)", ...scale, keys: 10 },
    { id: "scale-100k-uniform", title: "keygate allowed, 100,000 keys in use, uniform", ...spreadOver, keys: 100_000, spread: "uniform", keepsServerFor: "scale-100k-zipf" },
    { id: "scale-100k-zipf", title: "keygate allowed, 100,000 keys in use, Zipf s=1.1", ...spreadOver, keys: 100_000, spread: "zipf" },
    { id: "scale-1m-uniform", title: "keygate allowed, 1,000,000 keys in use, uniform", ...spreadOver, keys: 1_000_000, spread: "uniform", keepsServerFor: "scale-1m-zipf" },
    { id: "scale-1m-zipf", title: "keygate allowed, 1,000,000 keys in use, Zipf s=1.1", ...spreadOver, keys: 1_000_000, spread: "zipf" },
  ];
  if (compare !== undefined) {
    const buildDir = resolve(compare, "dist", "bench-build", "bench");
    CASES.splice(4, 0, { ...CASES.find((c) => c.id === "hit")!, id: "compare", title: `keygate allowed, cache hit, build in ${compare}`, buildDir, halfRate: false });
  }
  return CASES;
}

export const QUICK_CASES = new Set(["a", "b", "c", "hit", "compare", "scale-a", "scale-hot", "scale-100k-uniform", "scale-100k-zipf", "scale-1m-uniform", "scale-1m-zipf"]);
