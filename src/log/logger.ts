import pino, { type DestinationStream, type Logger } from "pino";

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "keygate" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
