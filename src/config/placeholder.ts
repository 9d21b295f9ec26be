import { ConfigError } from "./config-error.js";

/**
 * The marker in every secret value deploy/ ships (deploy/kubernetes/secret.yaml,
 * deploy/envoy/secret.yaml). Those values are public, yet long enough to pass every other check,
 * so `kubectl apply -k` of the files unedited would run with a token and pepper anyone can read
 * on GitHub; a value holding the marker stops the start instead.
 */
const PLACEHOLDER = /REPLACE_ME/i;

/** Throws when `value` is still a shipped placeholder; the message names the variable, never the value. */
export function refusePlaceholder(name: string, value: string | undefined): void {
  if (value !== undefined && PLACEHOLDER.test(value)) {
    throw new ConfigError(name, "still holds the REPLACE_ME placeholder shipped in deploy/: set a value of your own (e.g. openssl rand -base64 48)");
  }
}
