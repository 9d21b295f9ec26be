import type { HandlerContext } from "@connectrpc/connect";
import type { KeyRecord } from "../../model/records.js";
import type { Caller } from "../caller.js";
import { keyTargetOf } from "../key-target.js";
import { mayActOnKey, type KeyAction } from "../policy.js";
import type { AdminParts } from "../admin-parts.js";

/** May the caller do this to that key: the policy weighs it as key-target.ts reads it. */
export async function mayActOn(
  { deps, allow }: Pick<AdminParts, "deps" | "allow">,
  ctx: HandlerContext,
  caller: Caller,
  action: KeyAction,
  key: KeyRecord,
): Promise<void> {
  await allow(ctx, mayActOnKey(caller.actor, action, await keyTargetOf(deps.store, caller, key)), key.id);
}
