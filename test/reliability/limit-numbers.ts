import type { TestApp } from "../support/app.js";
import { percentile, tally } from "./election-numbers.js";
import { allowedOf, type BucketAccount } from "./limit-ledger.js";
import type { LimitCheckRecord } from "./limit-load.js";

/**
 * What an election cost a leased limit, as the suite prints it: admissions against the limit and
 * the grants, how long the fleet admitted nothing while budget was left, when the replicas said
 * the leases stopped and started answering again, and what their lease metrics counted.
 */

/** A replica's lease counters (cumulative: the numbers take differences). */
export interface LeaseCounts {
  asked: number;
  failed: number;
  withoutLease: number;
}

async function counterValue(app: TestApp, name: string, result?: string): Promise<number> {
  const metric = app.app.metrics.registry.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  return values.filter((value) => result === undefined || value.labels["result"] === result).reduce((sum, value) => sum + value.value, 0);
}

export async function leaseCounts(app: TestApp): Promise<LeaseCounts> {
  return {
    asked: await counterValue(app, "keygate_limit_leases_total"),
    failed: await counterValue(app, "keygate_limit_leases_total", "failed"),
    withoutLease: await counterValue(app, "keygate_limit_admitted_without_lease_total"),
  };
}

/** When the replica's log said, after `fromMs`, that leases went unanswered and that they answer again (ms after `fromMs`). */
function leaseOutageLogged(app: TestApp, fromMs: number): { unansweredMs: number | null; answeredAgainMs: number | null } {
  const at = (prefix: string) => {
    for (const line of app.logs) {
      const entry = JSON.parse(line) as { msg: string; time: string };
      const time = Date.parse(entry.time);
      if (time >= fromMs && entry.msg.startsWith(prefix)) return time - fromMs;
    }
    return null;
  };
  return { unansweredMs: at("budget leases unanswered"), answeredAgainMs: at("budget leases answer again") };
}

/** The longest the fleet admitted nothing between two admissions, and when that ended (ms after `fromMs`). */
function longestAdmissionGap(checks: LimitCheckRecord[], fromMs: number): { gapMs: number; endedMs: number } {
  const admitted = checks.filter((check) => check.answer === "allowed").map((check) => check.endedAt).sort((x, y) => x - y);
  let longest = { gapMs: 0, endedMs: 0 };
  for (let i = 1; i < admitted.length; i++) {
    const gapMs = admitted[i]! - admitted[i - 1]!;
    if (gapMs > longest.gapMs) longest = { gapMs, endedMs: admitted[i]! - fromMs };
  }
  return longest;
}

export interface GroupNumbers {
  allowance: string;
  /** Every key's limit, summed, against what the fleet admitted and was granted. */
  limit: number;
  allowed: number;
  granted: number;
  /** Summed over keys: below the limit, above it, and granted but never used. */
  underAdmitted: number;
  overAdmitted: number;
  grantedUnused: number;
  /** The most one key admitted below its limit. */
  worstKeyUnder: number;
  quota: { allowed: number; held: number; granted: number } | null;
  /** The fleet's last admission: when the keys' budgets were spent. */
  lastAdmissionMs: number;
  longestAdmissionGap: { gapMs: number; endedMs: number };
  checkAnswers: Record<string, number>;
  checkLatencyMs: { p50: number; p99: number; max: number };
  leases: Record<string, LeaseCounts & { unansweredMs: number | null; answeredAgainMs: number | null }>;
}

export interface GroupRecords {
  allowance: string;
  checks: LimitCheckRecord[];
  keys: BucketAccount[];
  quota: BucketAccount;
  replicas: { name: string; app: TestApp; before: LeaseCounts }[];
}

/** The numbers of one group of replicas; times are ms after `fromMs` (the step-down or the SIGKILL). */
export async function groupNumbers(group: GroupRecords, fromMs: number): Promise<GroupNumbers> {
  const sum = (of: (account: BucketAccount) => number) => group.keys.reduce((total, account) => total + of(account), 0);
  const latencies = group.checks.map((check) => check.endedAt - check.startedAt).sort((x, y) => x - y);
  const leases: GroupNumbers["leases"] = {};
  for (const { name, app, before } of group.replicas) {
    const after = await leaseCounts(app);
    leases[name] = {
      asked: after.asked - before.asked,
      failed: after.failed - before.failed,
      withoutLease: after.withoutLease - before.withoutLease,
      ...leaseOutageLogged(app, fromMs),
    };
  }
  const quotaWindow = group.quota.window;
  return {
    allowance: group.allowance,
    limit: sum((account) => account.limit),
    allowed: sum((account) => account.allowed),
    granted: sum((account) => account.window?.granted ?? 0),
    underAdmitted: sum((account) => Math.max(0, account.limit - account.allowed)),
    overAdmitted: sum((account) => Math.max(0, account.allowed - account.limit)),
    grantedUnused: sum((account) => Math.max(0, (account.window?.granted ?? 0) - account.allowed)),
    worstKeyUnder: Math.max(0, ...group.keys.map((account) => account.limit - account.allowed)),
    quota: quotaWindow === undefined ? null : { allowed: allowedOf(group.checks), held: quotaWindow.heldSum, granted: quotaWindow.granted },
    lastAdmissionMs: Math.max(0, ...group.checks.filter((check) => check.answer === "allowed").map((check) => check.endedAt)) - fromMs,
    longestAdmissionGap: longestAdmissionGap(group.checks, fromMs),
    checkAnswers: tally(group.checks.map((check) => check.answer)),
    checkLatencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? 0 },
    leases,
  };
}
