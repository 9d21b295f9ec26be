import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { TestKeyResponseSchema, type CreditStatusSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { LimitPeek } from "../../limits/check-limits.js";
import { creditLinesAt } from "../../limits/credit-lines.js";
import { DEFAULT_LIMIT_NAME, type IdentityRecord } from "../../model/identities.js";
import { keyStatus } from "../../model/key-state.js";
import type { KeyRecord } from "../../model/records.js";
import { isWellFormedSecret } from "../../model/secret.js";
import { callerOf } from "../caller.js";
import { fieldError } from "../errors.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import { LIMIT_OWNER_ENUM, RATE_LIMIT_PERIOD_ENUM, timestamp } from "../mapping.js";
import type { KeyAdminHandler } from "../admin-parts.js";

type TestKeyDeps = Pick<KeyAdminDeps, "store" | "hasher" | "clock" | "peekLimits" | "creditsLeft">;

/**
 * TestKey: whether a secret is valid in the caller's organization, as Check would find it, and
 * everything a Check of it would spend, read without spending anything: its own limits and its
 * identity's, and both credit balances. A key of another organization is invalid, like an unknown
 * one; a key whose identity is gone spends only its own, so that is all it shows.
 */
export function testKey(deps: TestKeyDeps): KeyAdminHandler<"testKey"> {
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const invalid = create(TestKeyResponseSchema, { valid: false, reason: "API_KEY_INVALID" });
    if (req.apiKey === "") throw fieldError("api_key", "is required");
    if (!isWellFormedSecret(req.apiKey)) return invalid;
    const hash = deps.hasher.hash(req.apiKey);
    const key = await store.keys.findByHash(hash);
    if (!key || key.organizationId !== caller.organization.id) return invalid;
    const now = clock.now();
    const status = keyStatus(key, hash, now);
    if (status === "API_KEY_INVALID") return invalid;
    const identity = key.identityId === undefined ? null : await store.identities.findById(key.organizationId, key.identityId);
    const peeks = deps.peekLimits(key, identity, now);
    const own = peeks.find(({ line }) => line.owner === "key" && line.name === DEFAULT_LIMIT_NAME);
    return create(TestKeyResponseSchema, {
      valid: status === "valid",
      keyId: key.id,
      name: key.name,
      scopes: key.scopes,
      rateLimit: own && windowStatus(own),
      expiresAt: timestamp(key.expiresAt),
      isExpired: key.expiresAt !== null && key.expiresAt.getTime() <= now,
      reason: status === "valid" ? "" : status,
      limits: peeks.map((peek) => ({ name: peek.line.name, owner: LIMIT_OWNER_ENUM.get(peek.line.owner)!, ...windowStatus(peek) })),
      credits: await credits(deps, key, identity, now),
    });
  };
}

/** A limit's window as both `rate_limit` and each of `limits` show it. */
function windowStatus({ line, state }: LimitPeek) {
  return {
    limit: state.limit,
    remaining: state.remaining,
    resetAt: timestamp(new Date(state.resetAtMs)),
    // Keys' and identities' limits are sliding windows: each has its rule.
    period: RATE_LIMIT_PERIOD_ENUM.get(line.rule!.period)!,
  };
}

/** The key's and its identity's balances as GetKey and GetIdentity show `credits.left`. */
function credits(deps: TestKeyDeps, key: KeyRecord, identity: IdentityRecord | null, nowMs: number): Promise<MessageInitShape<typeof CreditStatusSchema>[]> {
  return Promise.all(
    creditLinesAt(key, identity, nowMs).map(async (line) => ({
      owner: LIMIT_OWNER_ENUM.get(line.owner)!,
      left: BigInt(await deps.creditsLeft(line)),
      limit: BigInt(line.limit),
      refillsAt: line.endMs === null ? undefined : timestamp(new Date(line.endMs)),
    })),
  );
}
