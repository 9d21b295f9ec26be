import { create } from "@bufbuild/protobuf";
import { GetKeyResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import { keyCreditLine } from "../../limits/credit-lines.js";
import type { KeyRecord } from "../../model/records.js";
import type { CallerAudit } from "../caller-audit.js";
import { callerOf, type Caller } from "../caller.js";
import { enforce } from "../enforce.js";
import { keyNotFound, preconditionFailed } from "../errors.js";
import type { KeyAdminDeps } from "../key-admin-deps.js";
import { mayAskForSecret, mayReadOrganization } from "../policy.js";
import { requiredId } from "../validation.js";
import type { KeyAdminHandler, AdminParts } from "../admin-parts.js";
import { existingKey, organizationRead } from "./key-lookups.js";
import { withUsage } from "./keys-with-usage.js";
import { mayActOn } from "./may-act-on.js";

/**
 * GetKey: one key of the caller's organization (or, for a platform operator, of the one it
 * names), and with show_key_value the secret of a recoverable key the caller may reveal. Its
 * credits show what is left now (`left`) beside the balance last set.
 */
export function getKey(parts: AdminParts): KeyAdminHandler<"getKey"> {
  const { deps, allow, audit } = parts;
  const { store } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    if (req.showKeyValue) await allow(ctx, mayAskForSecret(caller.actor));
    // Refused like ListKeys, and audited the same, but answered as a key that does not exist.
    await enforce(mayReadOrganization(caller.actor, caller.organization.id, req.organizationId), audit, caller, {
      method: ctx.method.name,
      keyId: req.id,
      answer: keyNotFound(req.id),
    });
    const organization = (await organizationRead(store, caller, req.organizationId))!;
    if (organization.byOperator) {
      await audit.beforehand(caller, { organizationId: organization.id, action: "operator.get_key", keyId: req.id });
    }
    const key = await existingKey(store, caller, req.id, organization.id);
    if (req.showKeyValue) await mayActOn(parts, ctx, caller, "reveal", key);
    const secret = req.showKeyValue ? await revealedSecret(deps, audit, caller, key) : "";
    const [withTotals] = await withUsage(parts, [key]);
    const own = keyCreditLine(key, deps.clock.now());
    if (own !== null && withTotals!.credits) withTotals!.credits.left = BigInt(await deps.creditsLeft(own));
    return create(GetKeyResponseSchema, { key: withTotals, secret });
  };
}

/** GetKey with show_key_value: the secret of a recoverable key, on the record each time. */
async function revealedSecret(deps: Pick<KeyAdminDeps, "encryption">, audit: CallerAudit, caller: Caller, key: KeyRecord): Promise<string> {
  const sealed = key.encryptedSecret;
  if (!sealed) {
    throw preconditionFailed(
      "show_key_value",
      key.revokedAt !== null ? "the key is revoked; its secret is no longer kept" : "the key is not recoverable (it was created without recoverable)",
    );
  }
  if (!deps.encryption) throw preconditionFailed("show_key_value", "this server has no KEYGATE_ENCRYPTION_KEY to open it");
  if (!deps.encryption.canOpen(sealed.keyId)) {
    throw preconditionFailed(
      "show_key_value",
      `the secret is sealed under encryption key ${sealed.keyId}, which this server does not hold (see KEYGATE_ENCRYPTION_KEY_PREVIOUS)`,
    );
  }
  const secret = deps.encryption.open(sealed, key.id);
  await audit.beforehand(caller, { action: "key.reveal", keyId: key.id, details: { name: key.name } });
  return secret;
}
