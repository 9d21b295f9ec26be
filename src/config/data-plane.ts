import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { ConfigError } from "./config-error.js";
import { refusePlaceholder } from "./placeholder.js";

/**
 * The settings of the data plane's trust boundary (contract: "The data plane's trust boundary";
 * docs/security.md): who may call Check and the access-log service. Each is checked here, so a
 * typo stops the start (exit 2) instead of leaving the data plane open. No message ever repeats
 * the token or a key file's contents.
 */
export interface DataPlaneSettings {
  /** KEYGATE_DATA_PLANE_TOKEN: calls must carry `authorization: Bearer <token>`; undefined: no token. */
  token: string | undefined;
  /**
   * KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: the token being rotated out, still accepted beside `token`
   * until every Envoy sends the new one; undefined: none (always, when `token` is).
   */
  previousToken: string | undefined;
  /** KEYGATE_DATA_PLANE_PORT: Check, the access-log service and health on their own listener; undefined: on PORT. */
  port: number | undefined;
  /** TLS on that listener, and with `clientCa` client certificates required and verified. */
  tls: DataPlaneTls | undefined;
}

export interface DataPlaneTls {
  cert: Buffer;
  key: Buffer;
  /** PEM bundle of the CAs whose client certificates are accepted; undefined: no client certificates asked for. */
  clientCa: Buffer | undefined;
}

type Env = Record<string, string | undefined>;

const MIN_TOKEN_LENGTH = 32;
const MAX_TOKEN_LENGTH = 1_024;
/**
 * RFC 6750's b64token: what an `authorization: Bearer` value may hold. It also keeps the token
 * safe to substitute into Envoy's configuration with sed (deploy/envoy), having no `|`, `&` or `\`.
 */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function bearerToken(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  refusePlaceholder(name, raw);
  if (raw.length < MIN_TOKEN_LENGTH || raw.length > MAX_TOKEN_LENGTH) {
    throw new ConfigError(name, `must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters, got ${raw.length}`);
  }
  if (!B64TOKEN.test(raw)) {
    throw new ConfigError(name, "may hold only letters, digits and - . _ ~ + / (then = padding), as a bearer token does; e.g. openssl rand -base64 48");
  }
  return raw;
}

/**
 * The token being rotated out (docs/security.md, "Rotating the data-plane token"). Alone it would
 * be the only token under a name that says it is on its way out, and equal to the current one it
 * would be a rotation that changes nothing: both are typos of a rotation, so both stop the start.
 */
function previousToken(env: Env, current: string | undefined): string | undefined {
  const previous = bearerToken(env, "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS");
  if (previous === undefined) return undefined;
  if (current === undefined) {
    throw new ConfigError("KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", "is accepted only with KEYGATE_DATA_PLANE_TOKEN, the token that replaces it");
  }
  if (previous === current) throw new ConfigError("KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", "must differ from KEYGATE_DATA_PLANE_TOKEN: it is the token being replaced");
  return previous;
}

function dataPlanePort(env: Env, port: number): number | undefined {
  const raw = env["KEYGATE_DATA_PLANE_PORT"];
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d{1,5}$/.test(raw.trim()) || Number(raw) > 65535) {
    throw new ConfigError("KEYGATE_DATA_PLANE_PORT", `must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw);
  // 0 (any free port) on both is how tests ask for two ports; otherwise they must differ.
  if (value !== 0 && value === port) throw new ConfigError("KEYGATE_DATA_PLANE_PORT", `must differ from PORT (${port}): the data plane gets a listener of its own`);
  return value;
}

function file(env: Env, name: string): Buffer | undefined {
  const path = env[name];
  if (path === undefined || path === "") return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(name, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle, parsed; Node's TLS would silently ignore one it cannot read. */
function caBundle(pem: Buffer): void {
  const certificates = pem.toString("utf8").match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) throw new Error("holds no PEM certificate");
  for (const [index, certificate] of certificates.entries()) {
    try {
      new X509Certificate(certificate);
    } catch (error) {
      throw new Error(`certificate ${index + 1} does not parse: ${(error as Error).message}`);
    }
  }
}

function tls(env: Env, port: number | undefined): DataPlaneTls | undefined {
  const cert = file(env, "KEYGATE_TLS_CERT_FILE");
  const key = file(env, "KEYGATE_TLS_KEY_FILE");
  const clientCa = file(env, "KEYGATE_TLS_CLIENT_CA_FILE");
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) throw new ConfigError("KEYGATE_TLS_CLIENT_CA_FILE", "client certificates need TLS: set KEYGATE_TLS_CERT_FILE and KEYGATE_TLS_KEY_FILE too");
    return undefined;
  }
  if (cert === undefined) throw new ConfigError("KEYGATE_TLS_CERT_FILE", "must be set with KEYGATE_TLS_KEY_FILE");
  if (key === undefined) throw new ConfigError("KEYGATE_TLS_KEY_FILE", "must be set with KEYGATE_TLS_CERT_FILE");
  if (port === undefined) {
    throw new ConfigError("KEYGATE_TLS_CERT_FILE", "TLS is served on the data-plane listener only: set KEYGATE_DATA_PLANE_PORT too");
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    // OpenSSL's reason (no start line, key values mismatch), never the files' contents.
    throw new ConfigError("KEYGATE_TLS_CERT_FILE", `with KEYGATE_TLS_KEY_FILE is not a usable PEM certificate and private key: ${(error as Error).message}`);
  }
  if (clientCa !== undefined) {
    try {
      caBundle(clientCa);
    } catch (error) {
      throw new ConfigError("KEYGATE_TLS_CLIENT_CA_FILE", (error as Error).message);
    }
  }
  return { cert, key, clientCa };
}

export function dataPlaneSettings(env: Env, port: number): DataPlaneSettings {
  const listenerPort = dataPlanePort(env, port);
  const token = bearerToken(env, "KEYGATE_DATA_PLANE_TOKEN");
  return { token, previousToken: previousToken(env, token), port: listenerPort, tls: tls(env, listenerPort) };
}
