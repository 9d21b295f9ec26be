import { create } from "@bufbuild/protobuf";
import { TestKeyResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { keyStatus } from "../../model/key-state.js";
import { isWellFormedSecret } from "../../model/secret.js";
import { callerOf } from "../caller.js";
import { fieldError } from "../errors.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import { RATE_LIMIT_PERIOD_ENUM, timestamp } from "../mapping.js";
import type { KeyAdminHandler } from "../admin-parts.js";

/**
 * TestKey: whether a secret is valid in the caller's organization, as Check would find it, and
 * its per-key rate limit as it stands, read without consuming anything. A key of another
 * organization is invalid, like an unknown one.
 */
export function testKey(deps: Pick<KeyAdminDeps, "store" | "hasher" | "clock" | "peekRateLimit">): KeyAdminHandler<"testKey"> {
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
    const peek = deps.peekRateLimit(key, now);
    return create(TestKeyResponseSchema, {
      valid: status === "valid",
      keyId: key.id,
      name: key.name,
      scopes: key.scopes,
      rateLimit: peek && {
        limit: peek.limit,
        remaining: peek.remaining,
        resetAt: timestamp(new Date(peek.resetAtMs)),
        period: RATE_LIMIT_PERIOD_ENUM.get(key.rateLimit!.period)!,
      },
      expiresAt: timestamp(key.expiresAt),
      isExpired: key.expiresAt !== null && key.expiresAt.getTime() <= now,
      reason: status === "valid" ? "" : status,
    });
  };
}
