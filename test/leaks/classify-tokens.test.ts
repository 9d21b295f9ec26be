import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { classifyTokens } from "../../src/leaks/classify-tokens.js";
import type { LeakedToken } from "../../src/leaks/leak-report.js";
import type { KeyRecord } from "../../src/model/records.js";
import { SecretHasher, generateSecret } from "../../src/model/secret.js";
import type { DeletedKey } from "../../src/store/deleted-key-repository.js";
import { aKey } from "../support/records.js";

const hasher = new SecretHasher("test-pepper-0123456789abcdef-0123456789abcdef");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const reported = (token: string, type = "keygate_api_key"): LeakedToken => ({ token, type, url: `https://github.com/octo/repo/blob/main/${type}`, source: "content" });

/** A key lookup over fixed keys that records every hash it is asked for. */
function keysHolding(...keys: KeyRecord[]) {
  const asked: string[] = [];
  return {
    asked,
    async findByHash(secretHash: string) {
      asked.push(secretHash);
      return keys.find((key) => key.secretHash === secretHash || key.previousSecret?.hash === secretHash) ?? null;
    },
  };
}

/** Deleted keys by hash, recording every hash asked for. */
function deletedHolding(...deleted: DeletedKey[]) {
  const asked: string[] = [];
  return {
    asked,
    async findByHash(secretHash: string) {
      asked.push(secretHash);
      return deleted.find((key) => key.secretHashes.includes(secretHash)) ?? null;
    },
  };
}

const noDeletedKeys = deletedHolding();

describe("classifyTokens", () => {
  it("labels a stored key's secret a true positive and hands back the key with where it leaked", async () => {
    const secret = generateSecret("live");
    const key = aKey("org_1", { secretHash: hasher.hash(secret) });
    const keys = keysHolding(key);
    const result = await classifyTokens([reported(secret, "keygate_live_api_key")], { hasher, keys, deletedKeys: noDeletedKeys });
    expect(result.labels).toEqual([{ token_hash: sha256(secret), token_type: "keygate_live_api_key", label: "true_positive" }]);
    expect(result.leaked).toEqual([{ key, secret: "current", report: reported(secret, "keygate_live_api_key") }]);
  });

  it("labels an unknown but well-formed secret a false positive after one lookup", async () => {
    const secret = generateSecret("test");
    const keys = keysHolding(aKey("org_1"));
    const result = await classifyTokens([reported(secret)], { hasher, keys, deletedKeys: noDeletedKeys });
    expect(result).toEqual({ labels: [{ token_hash: sha256(secret), token_type: "keygate_api_key", label: "false_positive" }], leaked: [] });
    expect(keys.asked).toEqual([hasher.hash(secret)]);
  });

  it("labels a token failing the checksum or the shape a false positive without reading the store", async () => {
    const secret = generateSecret("live");
    const key = aKey("org_1", { secretHash: hasher.hash(secret) });
    const lastChar = secret.at(-1) === "A" ? "B" : "A";
    const badChecksum = `${secret.slice(0, -1)}${lastChar}`;
    const stored = aKey("org_1", { secretHash: hasher.hash(badChecksum) });
    const keys = keysHolding(key, stored);
    const tokens = [badChecksum, secret.slice(0, -1), `${secret}x`, "ghp_notkeygate", ""].map((token) => reported(token));
    const result = await classifyTokens(tokens, { hasher, keys, deletedKeys: noDeletedKeys });
    expect(result.labels.map((entry) => entry.label)).toEqual(Array(5).fill("false_positive"));
    expect(result.labels.map((entry) => entry.token_hash)).toEqual(tokens.map((entry) => sha256(entry.token)));
    expect(result.leaked).toEqual([]);
    expect(keys.asked).toEqual([]);
  });

  it("labels a previous (rotated) secret and a revoked key's secret true positives", async () => {
    const previous = generateSecret("live");
    const revoked = generateSecret("live");
    const rotatedKey = aKey("org_1", { previousSecret: { hash: hasher.hash(previous), expiresAt: new Date(0) } });
    const revokedKey = aKey("org_2", { secretHash: hasher.hash(revoked), isActive: false, revokedAt: new Date(0) });
    const result = await classifyTokens([reported(previous), reported(revoked)], { hasher, keys: keysHolding(rotatedKey, revokedKey), deletedKeys: noDeletedKeys });
    expect(result.labels.map((entry) => entry.label)).toEqual(["true_positive", "true_positive"]);
    expect(result.leaked).toEqual([
      { key: rotatedKey, secret: "previous", report: reported(previous) },
      { key: revokedKey, secret: "current", report: reported(revoked) },
    ]);
  });

  it("labels a deleted key's secret a true positive, looking among deleted keys only after a miss", async () => {
    const [live, gone, unknown] = [generateSecret("live"), generateSecret("live"), generateSecret("test")];
    const deleted: DeletedKey = { id: "key_1", organizationId: "org_1", name: "ci", keyPrefix: gone.slice(0, 12), environment: "live", secretHashes: [hasher.hash(gone)], deletedAt: new Date(0) };
    const deletedKeys = deletedHolding(deleted);
    const keys = keysHolding(aKey("org_1", { secretHash: hasher.hash(live) }));
    const result = await classifyTokens([reported(live), reported(gone), reported(unknown)], { hasher, keys, deletedKeys });
    expect(result.labels.map((entry) => entry.label)).toEqual(["true_positive", "true_positive", "false_positive"]);
    expect(result.leaked.slice(1)).toEqual([{ deleted, report: reported(gone) }]);
    expect(deletedKeys.asked).toEqual([hasher.hash(gone), hasher.hash(unknown)]);
  });

  it("answers every token in the order reported, repeats included", async () => {
    const secret = generateSecret("live");
    const other = generateSecret("test");
    const keys = keysHolding(aKey("org_1", { secretHash: hasher.hash(secret) }));
    const result = await classifyTokens([reported(secret), reported(other), reported(secret)], { hasher, keys, deletedKeys: noDeletedKeys });
    expect(result.labels.map((entry) => [entry.token_hash, entry.label])).toEqual([
      [sha256(secret), "true_positive"],
      [sha256(other), "false_positive"],
      [sha256(secret), "true_positive"],
    ]);
  });
});
