import type { UserLimitsPatch } from "./store.js";
import type { UserLimits } from "../model/records.js";

/** A user's limits once a patch is applied: values set, nulls handed back to the plan (removed). */
export function patchedLimits(limits: UserLimits | undefined, patch: UserLimitsPatch): UserLimits {
  const next: Record<string, unknown> = { ...limits };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = structuredClone(value);
  }
  return next as UserLimits;
}
