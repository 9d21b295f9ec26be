import pino, { type DestinationStream, type Logger } from "pino";
import { activeTraceFields } from "../trace/active-trace.js";

/**
 * Paths pino censors wherever they appear. Secrets travel in these fields and headers; nothing
 * else should ever hold one, and the secret-free-logs test searches every line to prove it.
 */
export const REDACTED_PATHS = [
  "secret",
  "*.secret",
  "apiKey",
  "*.apiKey",
  "api_key",
  "*.api_key",
  "authorization",
  "*.authorization",
  "headers.authorization",
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  "*.headers.authorization",
  // A change's idempotency key opens its receipt (src/crypto/receipt-sealing.ts).
  'headers["idempotency-key"]',
  '*.headers["idempotency-key"]',
  "pepper",
  "*.pepper",
  // Recoverable keys: the encryption keys and the sealed secrets never reach a log line either.
  "encryptionKeys",
  "*.encryptionKeys",
  "encryptedSecret",
  "*.encryptedSecret",
  // The data plane's token and TLS key (config.dataPlane).
  "dataPlane",
  "*.dataPlane",
];

/**
 * Lines are JSON with the level as its name (`"level":"info"`), which log pipelines (Loki, Elastic,
 * Cloud Logging) read as a severity without a mapping table, and, inside a traced Check or RPC,
 * the trace and span ids (src/trace/active-trace.ts) so a line leads to its trace.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "keygate" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: activeTraceFields,
    },
    destination,
  );
}

export type { Logger };
