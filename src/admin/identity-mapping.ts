import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { IdentitySchema, type Identity } from "../../gen/keygate/v1/key_admin_pb.js";
import type { IdentityRecord } from "../model/identities.js";
import { toCreditsMessage, toNamedLimitMessages } from "./mapping.js";

/** An identity as the admin API shows it; no rules live here. */
export function toIdentity(identity: IdentityRecord): Identity {
  return create(IdentitySchema, {
    id: identity.id,
    organizationId: identity.organizationId,
    externalId: identity.externalId,
    name: identity.name,
    meta: identity.meta,
    limits: toNamedLimitMessages(identity.limits),
    ...(identity.credits && { credits: toCreditsMessage(identity.credits) }),
    createdAt: timestampFromDate(identity.createdAt),
    updatedAt: timestampFromDate(identity.updatedAt),
  });
}
