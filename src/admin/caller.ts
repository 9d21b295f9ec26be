import { Code, ConnectError, createContextKey } from "@connectrpc/connect";
import type { Plan } from "../model/plans.js";
import type { KeyRecord, Organization, User } from "../model/records.js";
import type { Actor } from "./policy.js";

/** Who is calling the admin API: the authenticated key, its organization, user and plan. */
export interface Caller {
  key: KeyRecord;
  organization: Organization;
  user: User;
  plan: Plan;
  /** A platform operator: the key holds platform:admin in the platform organization. */
  operator: boolean;
  /** The key's rights as the policy weighs them (src/admin/policy.ts). */
  actor: Actor;
}

export const callerContextKey = createContextKey<Caller | undefined>(undefined, { description: "authenticated admin caller" });

/** The admin caller of a request; the authentication interceptor (caller-interceptor.ts) guarantees it is set. */
export function callerOf(context: { values: { get<T>(key: { id: symbol; defaultValue: T }): T } }): Caller {
  const caller = context.values.get(callerContextKey);
  if (!caller) throw new ConnectError("request reached a handler without authentication", Code.Internal);
  return caller;
}
