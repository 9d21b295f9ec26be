import { verify, type KeyObject } from "node:crypto";
import type { GithubPublicKeys } from "./github-public-keys.js";

/**
 * A GitHub secret-scanning report, checked before anything acts on it: the body's size, then its
 * signature (ECDSA P-256/SHA-256, base64 DER in `Github-Public-Key-Signature`, over the raw body
 * bytes, by the key `Github-Public-Key-Identifier` names), then its shape. Only a signed body is
 * parsed, so an unsigned sender cannot make keygate do more than hash what it sent.
 */

/** One token GitHub found: where (`url`, `source`: "content", "commit", "gist", …) and as what `type`. */
export interface LeakedToken {
  token: string;
  type: string;
  url: string;
  source: string;
}

// GitHub batches up to a few hundred tokens of well under 1 KiB each.
export const MAX_REPORT_BYTES = 1024 * 1024;

/**
 * Why a report is refused: the sender's rate (429, before anything else is looked at), the
 * signature's fault (401), the body's (400).
 */
export type ReportRefusal =
  | "rate_limited"
  | "signature_missing"
  | "key_unknown"
  | "signature_invalid"
  | "body_too_large"
  | "body_malformed";

export type ReportVerdict = { ok: true; tokens: LeakedToken[] } | { ok: false; refusal: ReportRefusal };

export interface SignedReport {
  body: Buffer;
  keyIdentifier: string | undefined;
  signature: string | undefined;
}

/**
 * What the headers alone refuse, so a server can answer before reading a body: a declared length
 * over the bound, no signature, or a key the file does not list.
 */
export function refusalByHeaders(
  headers: { contentLength: number | undefined; keyIdentifier: string | undefined; signature: string | undefined },
  keys: GithubPublicKeys,
): ReportRefusal | undefined {
  if (headers.contentLength !== undefined && headers.contentLength > MAX_REPORT_BYTES) return "body_too_large";
  if (!headers.keyIdentifier || !headers.signature) return "signature_missing";
  if (!keys.has(headers.keyIdentifier)) return "key_unknown";
  return undefined;
}

export function verifyLeakReport(report: SignedReport, keys: GithubPublicKeys): ReportVerdict {
  const refusal = refusalByHeaders({ ...report, contentLength: report.body.length }, keys);
  if (refusal) return refuse(refusal);
  if (!signatureHolds(report.body, keys.get(report.keyIdentifier!)!, report.signature!)) return refuse("signature_invalid");
  const tokens = parseTokens(report.body);
  return tokens ? { ok: true, tokens } : refuse("body_malformed");
}

function signatureHolds(body: Buffer, key: KeyObject, signature: string): boolean {
  // Buffer.from(…, "base64") skips what is not base64, so the text must be base64 to begin with.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return verify("sha256", body, { key, dsaEncoding: "der" }, Buffer.from(signature, "base64"));
  } catch {
    // A signature that is not DER at all.
    return false;
  }
}

function parseTokens(body: Buffer): LeakedToken[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const tokens: LeakedToken[] = [];
  for (const entry of parsed) {
    if (typeof entry !== "object" || entry === null) return undefined;
    const { token, type, url, source } = entry as Record<string, unknown>;
    if (typeof token !== "string" || typeof type !== "string" || typeof url !== "string" || typeof source !== "string") return undefined;
    tokens.push({ token, type, url, source });
  }
  return tokens;
}

function refuse(refusal: ReportRefusal): ReportVerdict {
  return { ok: false, refusal };
}
