import { create } from "@bufbuild/protobuf";
import { UpdateIdentityResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { IdentityPatch } from "../../store/store.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { validCredits } from "../credits-fields.js";
import { fieldError } from "../errors.js";
import { toIdentity } from "../identity-mapping.js";
import { validNamedLimits } from "../named-limits.js";
import { mayManageIdentities } from "../policy.js";
import { requiredId } from "../validation.js";
import { identityDetails } from "./identity-audit.js";
import { validExternalId, validIdentityName, validMeta } from "./identity-fields.js";
import { existingIdentity, externalIdTaken, identityNotFound } from "./identity-lookups.js";

/** The patch's fields by their API names, for the audit entry. */
const API_NAMES: Record<Exclude<keyof IdentityPatch, "updatedAt">, string> = {
  externalId: "external_id",
  name: "name",
  meta: "meta",
  limits: "limits",
  credits: "credits",
};

/**
 * UpdateIdentity: only the fields present change. New limits or credits reach every key tied to
 * the identity at their next Check: on this process by KeyEvents.identityChanged, on every other
 * replica by the change log the store writes with it.
 */
export function updateIdentity(parts: AdminParts): KeyAdminHandler<"updateIdentity"> {
  const { deps, allow, audit, events } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    requiredId(req.id);
    const now = new Date(clock.now());
    const patch: IdentityPatch = { updatedAt: now };
    if (req.externalId !== undefined) patch.externalId = validExternalId(req.externalId);
    if (req.name !== undefined) patch.name = validIdentityName(req.name);
    if (req.meta) patch.meta = validMeta(req.meta.values, "meta.values");
    if (req.limits) patch.limits = validNamedLimits(req.limits.values, "limits.values");
    if (req.credits && req.clearCredits) throw fieldError("clear_credits", "cannot be combined with credits");
    if (req.credits) patch.credits = validCredits(req.credits, "credits", now);
    if (req.clearCredits) patch.credits = null;
    await allow(ctx, mayManageIdentities(caller.actor));
    const current = await existingIdentity(store, caller, req.id);
    const outcome = await events.write(
      caller,
      () => store.identities.update(caller.organization.id, current.id, patch),
      (updated) => (updated.ok ? [{ type: "identity.updated", identity: updated.identity }] : []),
    );
    if (!outcome.ok) throw outcome.reason === "not_found" ? identityNotFound(req.id, "id") : externalIdTaken(patch.externalId!);
    // This process's Checks read the new limits and credits at once (other processes: the change log).
    deps.keyEvents.identityChanged(outcome.identity.id);
    const fields = (Object.keys(API_NAMES) as (keyof typeof API_NAMES)[]).filter((field) => patch[field] !== undefined).map((field) => API_NAMES[field]);
    await audit.changed(caller, { action: "identity.update", details: { ...identityDetails(outcome.identity), fields: fields.join(",") } });
    return create(UpdateIdentityResponseSchema, { identity: toIdentity(outcome.identity) });
  };
}
