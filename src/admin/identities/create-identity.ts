import { create } from "@bufbuild/protobuf";
import { CreateIdentityResponseSchema } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { IdentityRecord } from "../../model/identities.js";
import { newId } from "../../model/ids.js";
import { adminError } from "../errors.js";
import type { AdminParts, KeyAdminHandler } from "../admin-parts.js";
import { callerOf } from "../caller.js";
import { validCredits } from "../credits-fields.js";
import { toIdentity } from "../identity-mapping.js";
import { validNamedLimits } from "../named-limits.js";
import { mayManageIdentities } from "../policy.js";
import { identityDetails } from "./identity-audit.js";
import { validExternalId, validIdentityName, validMeta } from "./identity-fields.js";
import { externalIdTaken } from "./identity-lookups.js";

/** CreateIdentity: a customer of the organization, with the limits and credits its keys will share. */
export function createIdentity(parts: AdminParts): KeyAdminHandler<"createIdentity"> {
  const { deps, allow, audit, events } = parts;
  const { store, clock } = deps;

  return async (req, ctx) => {
    const caller = callerOf(ctx);
    const now = new Date(clock.now());
    const identity: IdentityRecord = {
      id: newId("idt", now.getTime()),
      organizationId: caller.organization.id,
      externalId: validExternalId(req.externalId),
      name: validIdentityName(req.name),
      meta: validMeta(req.meta),
      limits: validNamedLimits(req.limits, "limits"),
      credits: req.credits ? validCredits(req.credits, "credits", now) : null,
      createdAt: now,
      updatedAt: now,
    };
    await allow(ctx, mayManageIdentities(caller.actor));
    const outcome = await events.write(
      caller,
      // The store checks the plan's bound as it inserts: creations racing for the last place never both get it.
      () => store.identities.create(identity, { maxPerOrganization: caller.plan.maxIdentities }),
      (created) => (created.ok ? [{ type: "identity.created", identity: created.identity }] : []),
    );
    if (!outcome.ok && outcome.reason === "limit_reached") {
      const limit = caller.plan.maxIdentities;
      throw adminError("IDENTITY_LIMIT_EXCEEDED", `the organization has ${limit} identities, the most its plan allows; delete one first`, { limit: String(limit) });
    }
    if (!outcome.ok) throw externalIdTaken(identity.externalId);
    await audit.changed(caller, { action: "identity.create", details: identityDetails(outcome.identity) });
    return create(CreateIdentityResponseSchema, { identity: toIdentity(outcome.identity) });
  };
}
