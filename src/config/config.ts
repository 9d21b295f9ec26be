import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { isValidCidr } from "../net/ip-allow-list.js";
import { parseRoutes, type RouteRule } from "./route-rules.js";
import { parseEncryptionKey } from "../crypto/secret-encryption.js";
import { ConfigError } from "./config-error.js";
import { dataPlaneSettings, type DataPlaneSettings } from "./data-plane.js";
import { refusePlaceholder } from "./placeholder.js";
import {
  DEFAULT_ADMIN_MAX_BODY_BYTES,
  DEFAULT_BODY_BUDGET,
  DEFAULT_READ_MAX_BYTES,
  DEFAULT_REQUEST_BODY_TIMEOUT_MS,
  MIN_BODY_BYTES_PER_CONNECTION,
} from "./body-limits.js";
import { DEFAULT_PLANS, findPlan, parsePlans, type Plan } from "../model/plans.js";
import { DEFAULT_SCOPES, parseScopes, type ScopeDefinition } from "../model/scopes.js";

export { ConfigError };
export type { RouteRule } from "./route-rules.js";

/**
 * keygate's settings, read once from the environment into one typed object. Every variable has
 * a named default and is validated here: a bad value stops the start with a message naming it.
 */

export interface Config {
  /**
   * Recoverable keys: KEYGATE_ENCRYPTION_KEY seals new secrets; KEYGATE_ENCRYPTION_KEY_PREVIOUS
   * (during a rotation) only opens old ones. Undefined: no recoverable keys.
   */
  encryptionKeys: { current: Buffer; previous: Buffer[] } | undefined;
  host: string;
  port: number;
  /** Who may call Check and the access-log service: token, own listener, TLS (docs/security.md). */
  dataPlane: DataPlaneSettings;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  mongodbUri: string | undefined;
  mongodbDb: string;
  /** Server-side secret mixed into every key hash and page-token signature. */
  pepper: string;
  /** True when the pepper was generated at start (embedded store only). */
  pepperGenerated: boolean;
  plans: Plan[];
  defaultPlan: string;
  scopes: ScopeDefinition[];
  /** Create a demo organization when the embedded store starts empty. */
  demoBootstrap: boolean;
  shutdownTimeoutMs: number;
  /** A new connection's first bytes, and an HTTP/1.1 request's headers, must arrive within this. */
  headersTimeoutMs: number;
  /** HTTP/2 connections without traffic for this long are closed. */
  idleConnectionTimeoutMs: number;
  /** An HTTP/1.1 request's body must have arrived this long after its headers, or its connection is closed. */
  requestBodyTimeoutMs: number;
  /** KeyAdminService and OperatorService request bodies larger than this are refused before they are read. */
  adminMaxBodyBytes: number;
  /** Bytes of unfinished request bodies held per connection and per process; past them the largest is reset. */
  bodyBufferBytesPerConnection: number;
  bodyBufferBytesPerProcess: number;
  /** Processes serving the port (cluster mode when > 1; needs MongoDB). */
  workers: number;
  /** Check: how many proxies in front of Envoy append to x-forwarded-for (0: use the TCP peer). */
  trustedProxyHops: number;
  /**
   * Admin API: CIDRs of reverse proxies whose X-Forwarded-For names the client (src/abuse);
   * empty: nobody's, every client is its TCP peer.
   */
  trustedProxies: string[];
  routes: RouteRule[];
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  cacheTtlMs: number;
  negativeCacheTtlMs: number;
  /**
   * Fail-static: how long past cacheTtlMs a cached key keeps being served while the store cannot
   * be read (0: never; an expired entry is then a miss like any other).
   */
  cacheMaxStalenessMs: number;
  /**
   * The longest a Check waits for the store to look up a key it has not cached; past it the read
   * counts as failed (fail-static or `unavailable`) and the next Check for the key reads afresh.
   */
  storeReadTimeoutMs: number;
  /** How often each replica reads the shared change log (key and plan changes of other replicas). */
  changePollIntervalMs: number;
  /**
   * MongoDB: what a replica admits beyond the limit slices it holds while the store does not
   * answer its leases: nothing, or its share of the window (src/limits/leased-budgets.ts).
   */
  limitsOutageAllowance: "none" | "share";
  /**
   * MongoDB: how long a write waits for a primary (through an election) and keeps retrying a
   * transaction before failing `unavailable`.
   */
  storeWriteWaitMs: number;
  /** Check and admin authentication: failed-key attempts per source IP per minute (0: unlimited). */
  failedKeyAttemptsPerMinute: number;
  /** Admin RPCs per caller key per minute (0: unlimited). */
  adminRequestsPerMinute: number;
  /** Most sources (IPs, caller keys) each throttle tracks; the least recently seen are forgotten. */
  throttleMaxSources: number;
  usageFlushIntervalMs: number;
  usageFlushBatchSize: number;
  /** Days a day of usage is kept (MongoDB TTL); long enough for last month's bill. */
  usageRetentionDays: number;
  /** Key-days of unflushed usage held in memory; beyond it new ones are dropped and counted. */
  usageBufferMaxEntries: number;
  /** GetQuotaStatus alerts at these percentages of a limit, ascending. */
  usageAlertThresholds: number[];
  /** Path segments matching this (whole segment) count as one `{id}` endpoint segment. */
  usageIdSegmentPattern: RegExp;
  /** WatchUsage sends a snapshot at least this often while idle; 0 turns that off. */
  usageWatchHeartbeatMs: number;
  /** Open WatchUsage streams per caller key and per organization (per replica); more are refused. */
  usageWatchMaxStreamsPerKey: number;
  usageWatchMaxStreamsPerOrganization: number;
  /**
   * KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: webhook endpoints may be `http://` and on addresses
   * that are not public (loopback, private, link-local). For development and tests only: in
   * production a tenant's endpoint could otherwise reach keygate's own network.
   */
  webhookAllowInsecureTargets: boolean;
  /**
   * KEYGATE_WEBHOOK_SCHEDULE_INTERVAL_MS: how often each replica looks for keys entering their
   * expiry warning, expired keys, crossed quota thresholds and rate-limited keys to tell about.
   */
  webhookScheduleIntervalMs: number;
  /**
   * KEYGATE_SECRET_SCANNING_KEYS_FILE: GitHub's secret-scanning public keys, in GitHub's format
   * (src/leaks/github-keys-file.ts re-reads it when it changes). Unset: no secret-scanning endpoint.
   */
  secretScanningKeysFile: string | undefined;
  /** CIDRs whose secret-scanning reports bypass the endpoint's flood bounds (GitHub's `hooks` ranges); empty: none. */
  secretScanningSources: string[];
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

function jsonFile<T>(env: Env, name: string, parse: (raw: unknown) => T, fallback: T): T {
  const path = env[name];
  if (path === undefined || path === "") return fallback;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(name, `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return parse(JSON.parse(text));
  } catch (error) {
    throw new ConfigError(name, `${path}: ${(error as Error).message}`);
  }
}

/**
 * Id-like path segments: numbers, UUIDs, long hex (ObjectIds, hashes), prefixed ids (`key_…`,
 * `cus_…`) and long letter-digit mixes (ULIDs, base62 tokens).
 */
export const DEFAULT_ID_SEGMENT_PATTERN =
  "\\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}" +
  "|[A-Za-z]{1,12}_[0-9A-Za-z]{8,}|(?=[A-Za-z]*[0-9])[0-9A-Za-z]{20,}";

function segmentPattern(env: Env, name: string, fallback: string): RegExp {
  const source = env[name] || fallback;
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${source})$`);
  } catch (error) {
    throw new ConfigError(name, `must be a regular expression: ${(error as Error).message}`);
  }
  if (pattern.test("")) throw new ConfigError(name, "must not match an empty path segment");
  return pattern;
}

function percentList(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const values = raw.split(",").map((part) => part.trim());
  if (values.some((value) => !/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 100)) {
    throw new ConfigError(name, `must be comma-separated whole percentages from 1 to 100, got ${JSON.stringify(raw)}`);
  }
  return [...new Set(values.map(Number))].sort((a, b) => a - b);
}

/** 32-byte keys from base64; the message names the variable but never echoes its value. */
function encryptionKeys(env: Env): Config["encryptionKeys"] {
  const parse = (name: string, text: string): Buffer => {
    refusePlaceholder(name, text);
    try {
      return parseEncryptionKey(text);
    } catch (error) {
      throw new ConfigError(name, (error as Error).message);
    }
  };
  const current = env["KEYGATE_ENCRYPTION_KEY"] ?? "";
  const previous = (env["KEYGATE_ENCRYPTION_KEY_PREVIOUS"] ?? "").split(",").filter((part) => part.trim() !== "");
  if (current.trim() === "") {
    if (previous.length > 0) {
      throw new ConfigError("KEYGATE_ENCRYPTION_KEY_PREVIOUS", "only opens secrets during a rotation; set KEYGATE_ENCRYPTION_KEY too");
    }
    return undefined;
  }
  return {
    current: parse("KEYGATE_ENCRYPTION_KEY", current),
    previous: previous.map((part) => parse("KEYGATE_ENCRYPTION_KEY_PREVIOUS", part)),
  };
}

/**
 * KEYGATE_STORE_WRITE_WAIT_MS replaced KEYGATE_MONGODB_SERVER_SELECTION_TIMEOUT_MS (which bounded
 * writes at 2 s, shorter than any election): a deployment still setting the old name is told,
 * rather than silently getting another bound than the one it asked for.
 */
function storeWriteWait(env: Env): number {
  if (env["KEYGATE_MONGODB_SERVER_SELECTION_TIMEOUT_MS"] !== undefined) {
    throw new ConfigError("KEYGATE_MONGODB_SERVER_SELECTION_TIMEOUT_MS", "was replaced by KEYGATE_STORE_WRITE_WAIT_MS (how long a write waits out an election; default 15000)");
  }
  return integer(env, "KEYGATE_STORE_WRITE_WAIT_MS", 15_000, 1_000, 120_000);
}

/**
 * KEYGATE_LIMITS_OUTAGE_ALLOWANCE. Replicas lease their limits now; the settings of the counts they
 * used to exchange after the fact are refused by name, so nobody believes they still tune anything.
 */
function outageAllowance(env: Env): Config["limitsOutageAllowance"] {
  for (const retired of ["KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS", "KEYGATE_QUOTA_REFRESH_INTERVAL_MS"]) {
    if (env[retired] !== undefined) {
      throw new ConfigError(retired, "is gone: replicas lease slices of each limit from MongoDB instead of exchanging counts (see KEYGATE_LIMITS_OUTAGE_ALLOWANCE and docs/operating.md)");
    }
  }
  const raw = env["KEYGATE_LIMITS_OUTAGE_ALLOWANCE"]?.trim() ?? "share";
  if (raw !== "none" && raw !== "share") throw new ConfigError("KEYGATE_LIMITS_OUTAGE_ALLOWANCE", `must be "none" or "share", not ${JSON.stringify(raw)}`);
  return raw;
}

/**
 * KEYGATE_WORKERS: how many processes serve the port (src/server/cluster.ts), a number or `auto`
 * (one per core). More than one needs MongoDB: the embedded store lives inside one process.
 */
function workerCount(env: Env, mongodbUri: string | undefined): number {
  const raw = env["KEYGATE_WORKERS"]?.trim();
  const workers = raw === "auto" ? availableParallelism() : integer(env, "KEYGATE_WORKERS", 1, 1, 256);
  if (workers > 1 && mongodbUri === undefined) {
    throw new ConfigError("KEYGATE_WORKERS", "more than one worker needs MONGODB_URI: each worker would hold its own embedded store");
  }
  return workers;
}

/** Comma-separated IPv4 and IPv6 addresses or CIDRs, each checked as allow-lists check them. */
function cidrList(env: Env, name: string): string[] {
  const entries = (env[name] ?? "").split(",").map((part) => part.trim()).filter((part) => part !== "");
  const invalid = entries.find((entry) => !isValidCidr(entry));
  if (invalid !== undefined) throw new ConfigError(name, `${JSON.stringify(invalid)} is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
  return entries;
}

/** The body budget: per connection at least one Check message, per process at least one connection's. */
function bodyBuffer(env: Env): Pick<Config, "bodyBufferBytesPerConnection" | "bodyBufferBytesPerProcess"> {
  const perConnection = integer(
    env,
    "KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION",
    DEFAULT_BODY_BUDGET.maxBytesPerConnection,
    MIN_BODY_BYTES_PER_CONNECTION,
    64 * 1024 * 1024 * 1024,
  );
  const perProcess = integer(env, "KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS", Math.max(DEFAULT_BODY_BUDGET.maxBytesPerProcess, perConnection), 1, 64 * 1024 * 1024 * 1024);
  if (perProcess < perConnection) {
    throw new ConfigError("KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS", `must be at least KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION (${perConnection}), got ${perProcess}`);
  }
  return { bodyBufferBytesPerConnection: perConnection, bodyBufferBytesPerProcess: perProcess };
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export function loadConfig(env: Env = process.env): Config {
  const logLevel = (env["LOG_LEVEL"] || "info") as Config["logLevel"];
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);

  const mongodbUri = env["MONGODB_URI"] || undefined;
  refusePlaceholder("MONGODB_URI", mongodbUri);
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    throw new ConfigError("MONGODB_URI", "must start with mongodb:// or mongodb+srv://");
  }
  const mongodbDb = env["MONGODB_DB"] || "keygate";
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(mongodbDb)) throw new ConfigError("MONGODB_DB", "must be 1-63 letters, digits, _ or -");

  let pepper = env["KEYGATE_PEPPER"] ?? "";
  refusePlaceholder("KEYGATE_PEPPER", pepper);
  const pepperGenerated = pepper === "";
  if (pepperGenerated) {
    // A persisted store needs the same pepper on every start and every replica, or no key verifies.
    if (mongodbUri !== undefined) throw new ConfigError("KEYGATE_PEPPER", "must be set (at least 32 characters) when MONGODB_URI is set");
    pepper = randomBytes(32).toString("base64url");
  } else if (pepper.length < 32) {
    throw new ConfigError("KEYGATE_PEPPER", "must be at least 32 characters");
  }

  const plans = jsonFile(env, "KEYGATE_PLANS_FILE", parsePlans, [...DEFAULT_PLANS]);
  const defaultPlan = env["KEYGATE_DEFAULT_PLAN"] || "pro";
  if (findPlan(plans, defaultPlan) === undefined) {
    throw new ConfigError("KEYGATE_DEFAULT_PLAN", `plan ${defaultPlan} is not defined (plans: ${plans.map((p) => p.name).join(", ")})`);
  }
  const scopes = jsonFile(env, "KEYGATE_SCOPES_FILE", parseScopes, [...DEFAULT_SCOPES]);
  const routes = jsonFile(env, "KEYGATE_ROUTES_FILE", (raw) => parseRoutes(raw, scopes), []);

  const port = integer(env, "PORT", 8080, 0, 65535);

  return {
    encryptionKeys: encryptionKeys(env),
    host: env["HOST"] || "0.0.0.0",
    port,
    dataPlane: dataPlaneSettings(env, port),
    logLevel,
    mongodbUri,
    mongodbDb,
    pepper,
    pepperGenerated,
    plans,
    defaultPlan,
    scopes,
    demoBootstrap: boolean(env, "KEYGATE_DEMO_BOOTSTRAP", true),
    shutdownTimeoutMs: integer(env, "KEYGATE_SHUTDOWN_TIMEOUT_MS", 10_000, 100, 600_000),
    headersTimeoutMs: integer(env, "KEYGATE_HEADERS_TIMEOUT_MS", 10_000, 100, 600_000),
    idleConnectionTimeoutMs: integer(env, "KEYGATE_IDLE_CONNECTION_TIMEOUT_MS", 300_000, 100, 86_400_000),
    requestBodyTimeoutMs: integer(env, "KEYGATE_REQUEST_BODY_TIMEOUT_MS", DEFAULT_REQUEST_BODY_TIMEOUT_MS, 100, 600_000),
    adminMaxBodyBytes: integer(env, "KEYGATE_ADMIN_MAX_BODY_BYTES", DEFAULT_ADMIN_MAX_BODY_BYTES, 1024, DEFAULT_READ_MAX_BYTES),
    ...bodyBuffer(env),
    workers: workerCount(env, mongodbUri),
    trustedProxyHops: integer(env, "KEYGATE_TRUSTED_PROXY_HOPS", 0, 0, 16),
    trustedProxies: cidrList(env, "KEYGATE_TRUSTED_PROXIES"),
    routes,
    cacheMaxEntries: integer(env, "KEYGATE_CACHE_MAX_ENTRIES", 200_000, 1, 100_000_000),
    cacheMaxBytes: integer(env, "KEYGATE_CACHE_MAX_BYTES", 256 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    cacheTtlMs: integer(env, "KEYGATE_CACHE_TTL_MS", 30_000, 100, 86_400_000),
    negativeCacheTtlMs: integer(env, "KEYGATE_NEGATIVE_CACHE_TTL_MS", 5_000, 0, 3_600_000),
    cacheMaxStalenessMs: integer(env, "KEYGATE_CACHE_MAX_STALENESS_MS", 120_000, 0, 86_400_000),
    storeReadTimeoutMs: integer(env, "KEYGATE_STORE_READ_TIMEOUT_MS", 3_000, 10, 60_000),
    changePollIntervalMs: integer(env, "KEYGATE_CHANGE_POLL_INTERVAL_MS", 1_000, 50, 60_000),
    limitsOutageAllowance: outageAllowance(env),
    storeWriteWaitMs: storeWriteWait(env),
    failedKeyAttemptsPerMinute: integer(env, "KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE", 100, 0, 1_000_000),
    adminRequestsPerMinute: integer(env, "KEYGATE_ADMIN_REQUESTS_PER_MINUTE", 1_200, 0, 1_000_000),
    throttleMaxSources: integer(env, "KEYGATE_THROTTLE_MAX_SOURCES", 100_000, 100, 10_000_000),
    usageFlushIntervalMs: integer(env, "KEYGATE_USAGE_FLUSH_INTERVAL_MS", 1_000, 10, 3_600_000),
    usageFlushBatchSize: integer(env, "KEYGATE_USAGE_FLUSH_BATCH_SIZE", 500, 1, 100_000),
    usageRetentionDays: integer(env, "KEYGATE_USAGE_RETENTION_DAYS", 400, 62, 3_660),
    usageBufferMaxEntries: integer(env, "KEYGATE_USAGE_BUFFER_MAX_ENTRIES", 100_000, 100, 10_000_000),
    usageAlertThresholds: percentList(env, "KEYGATE_USAGE_ALERT_THRESHOLDS", [80]),
    usageIdSegmentPattern: segmentPattern(env, "KEYGATE_USAGE_ID_SEGMENT_PATTERN", DEFAULT_ID_SEGMENT_PATTERN),
    usageWatchHeartbeatMs: integer(env, "KEYGATE_USAGE_WATCH_HEARTBEAT_MS", 15_000, 0, 3_600_000),
    usageWatchMaxStreamsPerKey: integer(env, "KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY", 10, 1, 100),
    usageWatchMaxStreamsPerOrganization: integer(env, "KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION", 50, 1, 10_000),
    webhookAllowInsecureTargets: boolean(env, "KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS", false),
    webhookScheduleIntervalMs: integer(env, "KEYGATE_WEBHOOK_SCHEDULE_INTERVAL_MS", 60_000, 100, 3_600_000),
    secretScanningKeysFile: env["KEYGATE_SECRET_SCANNING_KEYS_FILE"] || undefined,
    secretScanningSources: cidrList(env, "KEYGATE_SECRET_SCANNING_SOURCES"),
  };
}
