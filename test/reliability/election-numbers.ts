import type { CheckRecord, ElectionLoad, KeyKind, ReplicaName } from "./election-load.js";
import { enforcedOnB, type Disruption } from "./election-verdicts.js";

/**
 * What an election cost, in the numbers docs/operating.md and the README's operating table quote:
 * how long the election took, how long B took to enforce the revoke acknowledged just before it,
 * how long and how often Checks of uncached keys failed, how long admin writes were refused or
 * held, how long /readyz said not ready, and every answer counted by code.
 */

/** From the first to the last of some events: how many, out of how many, over how long. */
interface Spell {
  count: number;
  of: number;
  /** From the start of the first to the end of the last; 0 when there was none. */
  spanMs: number;
}

export interface ElectionNumbers {
  scenario: Disruption["kind"];
  /** From the step-down command or the SIGKILL to the new primary's term. */
  electionMs: number;
  /** From the step-down command or the SIGKILL to this harness seeing the new primary. */
  electionObservedMs: number;
  /** How the revoke just before the primary went was answered, and how long it took. */
  sentinelRevoke: string;
  /** From the new primary's term to B answering API_KEY_REVOKED for good (negative: before it). */
  revokeEnforcedOnBAfterElectionMs: number | null;
  /** From A's acknowledgement of that revoke to B answering API_KEY_REVOKED for good. */
  revokeEnforcedOnBAfterAckMs: number | null;
  /** Checks of keys evicted just before (each read the store) that failed `unavailable`. */
  uncachedChecksFailed: Record<ReplicaName, Spell>;
  /** Checks of keys cached on the replica and never changed that failed. */
  cachedChecksFailed: Record<ReplicaName, Spell>;
  /** From the step-down command or the SIGKILL to the first OK answer of a write sent after it. */
  firstWriteOkAfterMs: number | null;
  /** Admin writes answered other than OK. */
  adminWritesRefused: Spell;
  /** The longest an admin write waited for its answer, OK or not. */
  adminWriteLongestMs: number;
  adminAnswers: Record<string, number>;
  checkAnswers: Record<ReplicaName, Record<string, number>>;
  checkLatencyMs: { p50: number; p99: number; max: number };
  notReady: Record<ReplicaName, Spell>;
  /** Warnings and errors each replica logged meanwhile, counted by message and cause. */
  logged: Record<ReplicaName, Record<string, number>>;
}

/** The levels at or above warn, as keygate's lines name them. */
const WARNINGS = new Set(["warn", "error", "fatal"]);

/** A warning or error line as "message: cause" (the cause's first 160 characters); undefined for other lines. */
function warningOf(line: string): string | undefined {
  const entry = JSON.parse(line) as { level: string; msg: string; err?: { message?: string } };
  if (!WARNINGS.has(entry.level)) return undefined;
  const cause = entry.err?.message?.split("\n")[0]?.slice(0, 160);
  return cause === undefined ? entry.msg : `${entry.msg}: ${cause}`;
}

function spell<T>(all: T[], failed: (item: T) => boolean, startOf: (item: T) => number, endOf: (item: T) => number): Spell {
  const bad = all.filter(failed);
  if (bad.length === 0) return { count: 0, of: all.length, spanMs: 0 };
  return { count: bad.length, of: all.length, spanMs: Math.max(...bad.map(endOf)) - Math.min(...bad.map(startOf)) };
}

/** How many times each answer was given. */
export const tally = (answers: string[]) => {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
  return counts;
};

/** The `p` quantile (0–1) of ascending `sorted`; 0 when empty. */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

const perReplica = <T>(of: (replica: ReplicaName) => T): Record<ReplicaName, T> => ({ A: of("A"), B: of("B") });

function firstOkAfter(load: ElectionLoad, at: number): number | null {
  const answered = load.writes.filter((write) => write.startedAt >= at && write.code === "OK").map((write) => write.endedAt);
  return answered.length === 0 ? null : Math.min(...answered) - at;
}

export function electionNumbers(load: ElectionLoad, disruption: Disruption): ElectionNumbers {
  const { at, election, sentinelRevoke } = disruption;
  const enforcedAt = enforcedOnB(load, sentinelRevoke.key.id);
  const checksOf = (replica: ReplicaName, kind: KeyKind) => load.checks.filter((check) => check.replica === replica && check.kind === kind);
  const failedChecks = (checks: CheckRecord[]) =>
    spell(checks, (check) => check.answer.startsWith("rpc:"), (check) => check.startedAt, (check) => check.endedAt);
  const latencies = load.checks.map((check) => check.endedAt - check.startedAt).sort((x, y) => x - y);
  return {
    scenario: disruption.kind,
    electionMs: election.electedAt - at,
    electionObservedMs: election.observedAt - at,
    sentinelRevoke: `${sentinelRevoke.code} in ${sentinelRevoke.endedAt - sentinelRevoke.startedAt} ms`,
    revokeEnforcedOnBAfterElectionMs: enforcedAt === undefined ? null : enforcedAt - election.electedAt,
    revokeEnforcedOnBAfterAckMs: enforcedAt === undefined ? null : enforcedAt - sentinelRevoke.endedAt,
    uncachedChecksFailed: perReplica((replica) => failedChecks(checksOf(replica, "cold"))),
    cachedChecksFailed: perReplica((replica) => failedChecks(checksOf(replica, "hot"))),
    firstWriteOkAfterMs: firstOkAfter(load, at),
    adminWritesRefused: spell(load.writes, (write) => write.code !== "OK", (write) => write.startedAt, (write) => write.endedAt),
    adminWriteLongestMs: Math.max(0, ...load.writes.map((write) => write.endedAt - write.startedAt)),
    adminAnswers: tally(load.writes.map((write) => (write.reason === undefined ? write.code : `${write.code} ${write.reason}`))),
    checkAnswers: perReplica((replica) => tally(load.checks.filter((check) => check.replica === replica).map((check) => check.answer))),
    checkLatencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? 0 },
    // A probe that said 503 at `at` stands for the 100 ms until the next one.
    notReady: perReplica((replica) =>
      spell(load.readiness.filter((probe) => probe.replica === replica), (probe) => probe.status !== 200, (probe) => probe.at, (probe) => probe.at + 100),
    ),
    logged: perReplica((replica) => tally(load.logsOf(replica).flatMap((line) => warningOf(line) ?? []))),
  };
}
