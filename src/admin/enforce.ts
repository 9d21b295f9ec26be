import type { ConnectError, HandlerContext } from "@connectrpc/connect";
import type { CallerAudit } from "./caller-audit.js";
import { callerOf, type Caller } from "./caller.js";
import { refusalError } from "./errors.js";
import type { Decision } from "./policy.js";

/** Where a refusal happened, for its audit entry: the RPC and the key acted on (none: ""). */
export interface RefusedCall {
  method: string;
  keyId?: string;
  /**
   * What the caller is answered instead of permission_denied: not_found where the contract hides
   * another organization's objects (GetKey naming another organization_id).
   */
  answer?: ConnectError;
}

/**
 * Lets an allowed decision pass. A refusal is written to the audit log (`auth.failed`, the rule as
 * reason, like the caller interceptor's refusals) and thrown; handlers ask before they write, so
 * a refused call changes nothing.
 */
export async function enforce(decision: Decision, audit: CallerAudit, caller: Caller, call: RefusedCall): Promise<void> {
  if (decision.allowed) return;
  await audit.refused(caller, {
    action: "auth.failed",
    ...(call.keyId !== undefined && { keyId: call.keyId }),
    details: { method: call.method, reason: decision.rule, ...(decision.field !== undefined && { field: decision.field }) },
  });
  throw call.answer ?? refusalError(decision);
}

/** The policy's answer for one call: allowed passes; a refusal is audited and thrown. */
export type Enforcer = (ctx: HandlerContext, decision: Decision, keyId?: string) => Promise<void>;

/** `enforce` for one service's handlers: the RPC and caller come from the handler's context. */
export const enforcer =
  (audit: CallerAudit): Enforcer =>
  (ctx, decision, keyId) =>
    enforce(decision, audit, callerOf(ctx), { method: ctx.method.name, ...(keyId !== undefined && { keyId }) });
