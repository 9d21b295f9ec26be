import { createHash } from "node:crypto";
import type { KeyRecord } from "../model/records.js";
import { isWellFormedSecret, type SecretHasher } from "../model/secret.js";
import type { DeletedKey, DeletedKeyRepository } from "../store/deleted-key-repository.js";
import type { KeyRepository } from "../store/store.js";
import type { LeakedToken } from "./leak-report.js";

/**
 * Each reported token classified, for GitHub's answer and for acting on the keys that leaked. A
 * token without the secret's shape and checksum was never made by keygate, so it is a false
 * positive decided without a store read (GitHub matches by pattern, so a report may hold look-alikes,
 * and none of them should cost a read). A well-formed token is a true positive when a key has it as
 * its current or previous secret, or had it when it was deleted (within the retention of
 * Store.deletedKeys, looked at only after a miss): a revoked or deleted key's too, since the secret
 * was real (what to do then is the action's decision, not the label's).
 */

/** One entry of the answer, as the contract and GitHub's partner protocol name its fields. */
export interface TokenLabel {
  token_hash: string;
  token_type: string;
  label: "true_positive" | "false_positive";
}

/**
 * A reported token that is a keygate key's secret, with where it was found: a stored key's current
 * secret or the previous one a rotation superseded, or a deleted key's.
 */
export type LeakedKey = { key: KeyRecord; secret: "current" | "previous"; report: LeakedToken } | { deleted: DeletedKey; report: LeakedToken };

export interface Classification {
  labels: TokenLabel[];
  leaked: LeakedKey[];
}

export interface ClassifyDeps {
  hasher: SecretHasher;
  keys: Pick<KeyRepository, "findByHash">;
  deletedKeys: Pick<DeletedKeyRepository, "findByHash">;
}

export async function classifyTokens(tokens: readonly LeakedToken[], deps: ClassifyDeps): Promise<Classification> {
  const labels: TokenLabel[] = [];
  const leaked: LeakedKey[] = [];
  for (const report of tokens) {
    const leak = isWellFormedSecret(report.token) ? await find(deps.hasher.hash(report.token), report, deps) : null;
    if (leak) leaked.push(leak);
    labels.push({ token_hash: sha256Hex(report.token), token_type: report.type, label: leak ? "true_positive" : "false_positive" });
  }
  return { labels, leaked };
}

async function find(secretHash: string, report: LeakedToken, deps: ClassifyDeps): Promise<LeakedKey | null> {
  const key = await deps.keys.findByHash(secretHash);
  if (key) return { key, secret: key.secretHash === secretHash ? "current" : "previous", report };
  const deleted = await deps.deletedKeys.findByHash(secretHash);
  return deleted && { deleted, report };
}

// GitHub matches answers to tokens by this plain SHA-256 (not keygate's peppered hash, which GitHub
// cannot compute and which must not leave keygate).
function sha256Hex(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
