import type { ApiKey } from "../../../gen/keygate/v1/key_admin_pb.js";
import type { KeyRecord } from "../../model/records.js";
import { toApiKey } from "../mapping.js";
import type { AdminParts } from "../admin-parts.js";

/** Keys as the API shows them, each with its usage totals (total, today, this month). */
export async function withUsage(
  { deps, usageTotals }: Pick<AdminParts, "deps" | "usageTotals">,
  keys: readonly KeyRecord[],
): Promise<ApiKey[]> {
  const totals = await usageTotals(keys, deps.clock.now());
  return keys.map((key) => toApiKey(key, totals.get(key.id)));
}
