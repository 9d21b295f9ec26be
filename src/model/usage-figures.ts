/**
 * How a usage summary's growth and average response time read, for the console (web/src/format.ts)
 * and the CLI (`keygate usage summary`) alike. This file imports nothing: the console's browser
 * bundle uses it as it is.
 */

/**
 * Growth against the previous period. From a period without requests there is no ratio to give:
 * "new" when requests started, "—" when there were none either side, never "+0.0%".
 */
export function formatGrowth(growthPercent: number, previousRequests: bigint, requests: bigint): string {
  if (previousRequests === 0n) return requests === 0n ? "—" : "new";
  return `${growthPercent >= 0 ? "+" : ""}${growthPercent.toFixed(1)}%`;
}

/** keygate reports 0 when no logged response had a duration: that is "unknown", not "0.0 ms". */
export const formatResponseTime = (ms: number): string => (ms > 0 ? `${ms.toFixed(1)} ms` : "—");
