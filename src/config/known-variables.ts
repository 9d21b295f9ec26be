import { nearest } from "../text/edit-distance.js";

/**
 * Every KEYGATE_* variable keygate reads, so that one it does not (a typo: KEYGATE_PEPER) is
 * reported at start instead of silently leaving a default in place. The list is kept honest by
 * test/config/known-variables.test.ts, which finds every KEYGATE_* name in src/ here.
 */
export const KNOWN_VARIABLES: readonly string[] = [
  // The server's settings (config.ts, data-plane.ts).
  "KEYGATE_ADMIN_MAX_BODY_BYTES",
  "KEYGATE_ADMIN_REQUESTS_PER_MINUTE",
  "KEYGATE_BODY_BUFFER_BYTES_PER_CONNECTION",
  "KEYGATE_BODY_BUFFER_BYTES_PER_PROCESS",
  "KEYGATE_CACHE_MAX_BYTES",
  "KEYGATE_CACHE_MAX_ENTRIES",
  "KEYGATE_CACHE_MAX_STALENESS_MS",
  "KEYGATE_CACHE_TTL_MS",
  "KEYGATE_CHANGE_POLL_INTERVAL_MS",
  "KEYGATE_DATA_PLANE_PORT",
  "KEYGATE_DATA_PLANE_TOKEN",
  "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS",
  "KEYGATE_DEFAULT_PLAN",
  "KEYGATE_DEMO_BOOTSTRAP",
  "KEYGATE_ENCRYPTION_KEY",
  "KEYGATE_ENCRYPTION_KEY_PREVIOUS",
  "KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE",
  "KEYGATE_HEADERS_TIMEOUT_MS",
  "KEYGATE_IDLE_CONNECTION_TIMEOUT_MS",
  "KEYGATE_LIMITS_OUTAGE_ALLOWANCE",
  "KEYGATE_NEGATIVE_CACHE_TTL_MS",
  "KEYGATE_PEPPER",
  "KEYGATE_PLANS_FILE",
  "KEYGATE_REQUEST_BODY_TIMEOUT_MS",
  "KEYGATE_ROUTES_FILE",
  "KEYGATE_SCOPES_FILE",
  "KEYGATE_SECRET_SCANNING_KEYS_FILE",
  "KEYGATE_SECRET_SCANNING_SOURCES",
  "KEYGATE_SHUTDOWN_TIMEOUT_MS",
  "KEYGATE_STORE_READ_TIMEOUT_MS",
  "KEYGATE_STORE_WRITE_WAIT_MS",
  "KEYGATE_THROTTLE_MAX_SOURCES",
  "KEYGATE_TLS_CERT_FILE",
  "KEYGATE_TLS_CLIENT_CA_FILE",
  "KEYGATE_TLS_KEY_FILE",
  "KEYGATE_TRUSTED_PROXIES",
  "KEYGATE_TRUSTED_PROXY_HOPS",
  "KEYGATE_USAGE_ALERT_THRESHOLDS",
  "KEYGATE_USAGE_BUFFER_MAX_ENTRIES",
  "KEYGATE_USAGE_FLUSH_BATCH_SIZE",
  "KEYGATE_USAGE_FLUSH_INTERVAL_MS",
  "KEYGATE_USAGE_ID_SEGMENT_PATTERN",
  "KEYGATE_USAGE_RETENTION_DAYS",
  "KEYGATE_USAGE_WATCH_HEARTBEAT_MS",
  "KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY",
  "KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION",
  "KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS",
  "KEYGATE_WEBHOOK_SCHEDULE_INTERVAL_MS",
  "KEYGATE_WORKERS",
  // Retired: config.ts refuses them at start with a message naming what replaced them.
  "KEYGATE_MONGODB_SERVER_SELECTION_TIMEOUT_MS",
  "KEYGATE_QUOTA_REFRESH_INTERVAL_MS",
  "KEYGATE_RATE_LIMIT_SYNC_INTERVAL_MS",
  // The CLI's (src/cli): often exported in the shell that starts the server too.
  "KEYGATE_ADMIN_KEY",
  "KEYGATE_API_KEY",
  "KEYGATE_URL",
];

const KNOWN = new Set(KNOWN_VARIABLES);

export interface UnknownVariable {
  name: string;
  /** The known variable nearest to it by edit distance: what was probably meant. */
  nearest: string;
}

/**
 * The KEYGATE_* names in `env` that keygate does not read, each with its nearest known name.
 * Names only: a misspelt variable may hold a secret (KEYGATE_PEPER), so its value is not touched.
 */
export function unknownVariables(env: Record<string, string | undefined>): UnknownVariable[] {
  return Object.keys(env)
    .filter((name) => name.startsWith("KEYGATE_") && !KNOWN.has(name))
    .sort()
    .map((name) => ({ name, nearest: nearest(name, KNOWN_VARIABLES)! }));
}
