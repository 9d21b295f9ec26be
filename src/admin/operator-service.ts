import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Environment as EnvironmentEnum } from "../../gen/keygate/v1/key_admin_pb.js";
import {
  CreateOrganizationResponseSchema,
  GetOrganizationResponseSchema,
  RegenerateOperatorKeyResponseSchema,
  RevokeOperatorKeyResponseSchema,
  SetOrganizationPlanResponseSchema,
  type OperatorService,
} from "../../gen/keygate/v1/operator_pb.js";
import type { HandlerContext } from "@connectrpc/connect";
import { findPlan, type Plan } from "../model/plans.js";
import type { ScopeDefinition } from "../model/scopes.js";
import type { SecretEncryption } from "../crypto/secret-encryption.js";
import { isId } from "../model/ids.js";
import type { KeyEvents } from "../keys/key-events.js";
import type { SecretHasher } from "../model/secret.js";
import type { Logger } from "../log/logger.js";
import type { Store } from "../store/store.js";
import type { KeyRecord, Organization } from "../model/records.js";
import { createOrganization } from "../tenancy/bootstrap.js";
import { PLATFORM_ADMIN } from "../model/platform.js";
import type { Clock } from "../time/clock.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { CallerAudit } from "./caller-audit.js";
import { callerOf, type Caller } from "./caller.js";
import { ChangeEvents } from "./change-events.js";
import { enforcer } from "./enforce.js";
import { fieldError, keyNotFound, notAnId, preconditionFailed } from "./errors.js";
import { KeyRebound } from "./key-rebound.js";
import { KeyRegeneration } from "./key-regeneration.js";
import { KeyRevocation } from "./key-revocation.js";
import { keyTargetOf } from "./key-target.js";
import { ENVIRONMENTS, toApiKey, toOrganizationMessage, toUserMessage } from "./mapping.js";
import { mayActOnOperatorKey, type OperatorKeyAction } from "./policy.js";
import { requiredId, validGracePeriod, validName, validReason } from "./validation.js";
import { decidedOnCurrentKey } from "./decided-on-current-key.js";

const USER_PAGE = 500;

export interface OperatorDeps {
  store: Store;
  hasher: SecretHasher;
  clock: Clock;
  scopes: readonly ScopeDefinition[];
  plans: readonly Plan[];
  defaultPlan: string;
  audit: AuditTrail;
  logger: Logger;
  /**
   * Told of plan changes and of keys a smaller plan re-bounds, so caches (this replica's and,
   * through the change feed, others') drop the old entries.
   */
  keyEvents: KeyEvents;
  /** Seals a recoverable operator key's new secret; absent when the server has no KEYGATE_ENCRYPTION_KEY. */
  encryption?: SecretEncryption | undefined;
}

const organizationNotFound = (id: string) => fieldError("id", isId("org", id) ? `no organization ${JSON.stringify(id)}` : notAnId("org", id));

/**
 * OperatorService: what the platform does to its tenants, and to its own operator keys. Who may
 * call it is the policy's to say (policy/rpc-scopes.ts: platform operator keys only, asked by the
 * caller authentication interceptor before any handler runs, which also refuses a superseded
 * secret), and which operator key it may act on too (policy/key-rules.ts); nothing here decides
 * rights on its own. Each handler writes its audit entry into the log of the organization it acts
 * on before it answers, so an operator's look is never off the record.
 */
export function operatorService(deps: OperatorDeps): ServiceImpl<typeof OperatorService> {
  const audit = new CallerAudit(deps.audit, deps.logger);
  // The keys it changes (re-bounded by a plan, rotated, revoked) make their events like any other's.
  const events = new ChangeEvents({ store: deps.store, clock: deps.clock });
  const rebound = new KeyRebound({ store: deps.store, clock: deps.clock, keyEvents: deps.keyEvents, audit, events, catalog: deps.scopes });
  const regeneration = new KeyRegeneration({ ...deps, audit, events });
  const revocation = new KeyRevocation({ ...deps, audit, events });
  /** The policy's answer for this call: allowed passes; a refusal is audited and thrown. */
  const allow = enforcer(audit);

  /**
   * A key of the caller's own platform organization the policy lets it act on as an operator key.
   * Any other organization's key is not found, like everywhere in the admin API.
   */
  async function operatorKey(ctx: HandlerContext, caller: Caller, action: OperatorKeyAction, id: string): Promise<KeyRecord> {
    const key = await deps.store.keys.findById(caller.organization.id, requiredId(id));
    if (!key) throw keyNotFound(id);
    await allow(ctx, mayActOnOperatorKey(caller.actor, action, await keyTargetOf(deps.store, caller, key)), key.id);
    return key;
  }

  /** A plan with a lower rate bounds every user of the organization, so each one's keys come within it now. */
  async function reboundUsersOf(caller: Caller, organizationId: string, plan: Plan): Promise<void> {
    let afterId: string | undefined;
    for (;;) {
      const users = await deps.store.users.listByOrganization(organizationId, { limit: USER_PAGE, ...(afterId === undefined ? {} : { afterId }) });
      for (const user of users) await rebound.keysOf(caller, user, plan);
      if (users.length < USER_PAGE) return;
      afterId = users[users.length - 1]!.id;
    }
  }

  function planNamed(name: string): Plan {
    const plan = findPlan(deps.plans, name);
    if (!plan) throw fieldError("plan", `${JSON.stringify(name)} is not a configured plan (${deps.plans.map((p) => p.name).join(", ")})`);
    return plan;
  }

  async function organizationNamed(id: string): Promise<Organization> {
    const organization = await deps.store.organizations.findById(requiredId(id));
    if (!organization) throw organizationNotFound(id);
    return organization;
  }

  return {
    async createOrganization(req, ctx) {
      const caller = callerOf(ctx);
      const name = validName(req.name);
      const plan = planNamed(req.plan || deps.defaultPlan);
      const ownerName = validName(req.ownerName || "owner", "owner_name");
      const environment = req.environment === EnvironmentEnum.UNSPECIFIED ? "live" : ENVIRONMENTS.get(req.environment);
      if (!environment) throw fieldError("environment", "must be ENVIRONMENT_LIVE or ENVIRONMENT_TEST");
      const created = await createOrganization(deps, {
        name,
        plan,
        ownerName,
        actor: { keyId: caller.key.id, userId: caller.user.id, organizationId: caller.organization.id },
        ...(req.issueOwnerKey && {
          firstKey: {
            name: "owner admin key",
            description: "Created by a platform operator for the owner",
            scopes: deps.scopes.map((s) => s.name),
            environment,
          },
        }),
      });
      return create(CreateOrganizationResponseSchema, {
        organization: toOrganizationMessage(created.organization),
        owner: toUserMessage(created.owner),
        ...(created.key && { ownerKey: toApiKey(created.key), ownerKeySecret: created.secret! }),
      });
    },

    async getOrganization(req, ctx) {
      const caller = callerOf(ctx);
      const organization = await organizationNamed(req.id);
      await audit.beforehand(caller, { organizationId: organization.id, action: "operator.get_organization" });
      return create(GetOrganizationResponseSchema, { organization: toOrganizationMessage(organization) });
    },

    async setOrganizationPlan(req, ctx) {
      const caller = callerOf(ctx);
      const plan = planNamed(req.plan);
      const current = await organizationNamed(req.id);
      const updated = await deps.store.organizations.setPlan(current.id, plan.name);
      if (!updated) throw organizationNotFound(req.id);
      deps.keyEvents.organizationChanged(updated.id);
      await audit.changed(caller, { organizationId: updated.id, action: "org.plan_change", details: { from: current.plan, to: plan.name } });
      // A previous plan no longer configured bounded the keys by a rate nobody knows now: re-bound them.
      const previous = findPlan(deps.plans, current.plan);
      if (!previous || plan.maxRateLimitPerMinute < previous.maxRateLimitPerMinute) await reboundUsersOf(caller, updated.id, plan);
      return create(SetOrganizationPlanResponseSchema, { organization: toOrganizationMessage(updated), previousPlan: current.plan });
    },

    regenerateOperatorKey: decidedOnCurrentKey(async (req, ctx) => {
      const caller = callerOf(ctx);
      const grace = validGracePeriod(req.gracePeriodSeconds);
      const current = await operatorKey(ctx, caller, "regenerate", req.id);
      const { key, secret } = await regeneration.regenerate(caller, current, grace);
      return create(RegenerateOperatorKeyResponseSchema, { key: toApiKey(key), secret });
    }),

    async revokeOperatorKey(req, ctx) {
      const caller = callerOf(ctx);
      validReason(req.reason);
      const current = await operatorKey(ctx, caller, "revoke", req.id);
      const outcome = await revocation.revokeUnlessLastHolder(caller, current, req.reason, PLATFORM_ADMIN);
      if (!outcome.ok && outcome.reason === "not_found") throw keyNotFound(req.id);
      if (!outcome.ok) {
        throw preconditionFailed(
          "id",
          `${current.id} is the last active operator key of this platform organization; without it only the database lets an operator back in. ` +
            "Rotate it with RegenerateOperatorKey instead (grace_period_seconds 0 stops a leaked secret at once); keygate bootstrap --operator makes a new operator key",
        );
      }
      return create(RevokeOperatorKeyResponseSchema, { key: toApiKey(outcome.key) });
    },
  };
}
