import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { CallerAudit } from "./caller-audit.js";
import { ChangeEvents } from "./change-events.js";
import { enforcer, type Enforcer } from "./enforce.js";
import type { KeyAdminDeps } from "./key-admin-deps.js";
import { KeyRebound } from "./key-rebound.js";
import { KeyRegeneration } from "./key-regeneration.js";
import { KeyRevocation } from "./key-revocation.js";
import { OwnerRemoval } from "./owner-removal.js";
import { keyUsageTotals } from "./usage/usage-totals.js";

/** One KeyAdminService handler, by its method's name. */
export type KeyAdminHandler<Method extends keyof ServiceImpl<typeof KeyAdminService>> = ServiceImpl<typeof KeyAdminService>[Method];

/**
 * What KeyAdminService's handlers (keys/, and the users of user-admin-service.ts) share, built
 * once from the service's dependencies: the caller's audit entries, the policy's enforcer, the
 * changes' webhook events, and the parts that carry a key through its owner's removal, its owner's narrowed limits, a new secret
 * and revocation.
 */
export interface AdminParts {
  deps: KeyAdminDeps;
  audit: CallerAudit;
  /** The policy's answer for this call: allowed passes; a refusal is audited and thrown. */
  allow: Enforcer;
  /** Writes a change with its webhook events, as one unit. */
  events: ChangeEvents;
  removal: OwnerRemoval;
  rebound: KeyRebound;
  regeneration: KeyRegeneration;
  revocation: KeyRevocation;
  /** Usage totals shown on keys (total, today, this month). */
  usageTotals: ReturnType<typeof keyUsageTotals>;
}

export function adminParts(deps: KeyAdminDeps): AdminParts {
  const { store, clock } = deps;
  const audit = new CallerAudit(deps.audit, deps.logger);
  const events = new ChangeEvents({ store, clock });
  return {
    deps,
    audit,
    allow: enforcer(audit),
    events,
    removal: new OwnerRemoval({ store, clock, keyEvents: deps.keyEvents, audit, events }),
    rebound: new KeyRebound({ store, clock, keyEvents: deps.keyEvents, audit, events, catalog: deps.scopes }),
    regeneration: new KeyRegeneration({ ...deps, audit, events }),
    revocation: new KeyRevocation({ ...deps, audit, events }),
    usageTotals: keyUsageTotals(store.usage),
  };
}
