import { createHash } from "node:crypto";
import type { KeyRecord } from "../model/records.js";
import { isWellFormedSecret, type SecretHasher } from "../model/secret.js";
import type { KeyRepository } from "../store/store.js";
import type { LeakedToken } from "./leak-report.js";

/**
 * Each reported token classified, for GitHub's answer and for acting on the keys that leaked. A
 * token without the secret's shape and checksum was never made by keygate, so it is a false
 * positive decided without a store read (GitHub matches by pattern, so a report may hold look-alikes,
 * and none of them should cost a read). A well-formed token is a true positive when a key has it as its current or
 * previous secret: a revoked key's, too, since the secret was real (what to do then is the action's
 * decision, not the label's).
 */

/** One entry of the answer, as the contract and GitHub's partner protocol name its fields. */
export interface TokenLabel {
  token_hash: string;
  token_type: string;
  label: "true_positive" | "false_positive";
}

/** A reported token that is a keygate key's secret, with where it was found. */
export interface LeakedKey {
  key: KeyRecord;
  report: LeakedToken;
}

export interface Classification {
  labels: TokenLabel[];
  leaked: LeakedKey[];
}

export interface ClassifyDeps {
  hasher: SecretHasher;
  keys: Pick<KeyRepository, "findByHash">;
}

export async function classifyTokens(tokens: readonly LeakedToken[], deps: ClassifyDeps): Promise<Classification> {
  const labels: TokenLabel[] = [];
  const leaked: LeakedKey[] = [];
  for (const report of tokens) {
    const key = isWellFormedSecret(report.token) ? await deps.keys.findByHash(deps.hasher.hash(report.token)) : null;
    if (key) leaked.push({ key, report });
    labels.push({ token_hash: sha256Hex(report.token), token_type: report.type, label: key ? "true_positive" : "false_positive" });
  }
  return { labels, leaked };
}

// GitHub matches answers to tokens by this plain SHA-256 (not keygate's peppered hash, which GitHub
// cannot compute and which must not leave keygate).
function sha256Hex(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
