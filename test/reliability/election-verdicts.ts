import type { Db } from "mongodb";
import type { ErrorReason } from "../../src/admin/errors.js";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import type { Election } from "../support/replica-set.js";
import type { CheckRecord, ElectionLoad, WriteRecord } from "./election-load.js";

/**
 * What must hold after a replica set election under load (issue 14), each as a list of the
 * answers or documents that break it, empty when it holds, so that a failure names every
 * offender rather than the first.
 */

/** The ErrorInfo reason of an `unavailable` write whose change may have been applied. */
export const MAY_HAVE_BEEN_APPLIED: ErrorReason = "CHANGE_MAY_HAVE_BEEN_APPLIED";
/** A revoke acknowledged by A is enforced by B within this much of the new primary's election. */
export const REVOKE_BOUND_MS = 2_000;

/** The primary going away: when, the election that followed, and the revoke acknowledged just before. */
export interface Disruption {
  kind: "step-down" | "SIGKILL";
  at: number;
  election: Election;
  sentinelRevoke: WriteRecord;
}

export type WriteOutcome = "applied" | "not applied" | "unknown";

/** What an admin write's answer says about the data: OK applied it; `unavailable`, unless it says "may have been applied", did not. */
export function outcomeOf(write: WriteRecord): WriteOutcome {
  if (write.code === "OK") return "applied";
  if (write.code === "Unavailable" && write.reason !== MAY_HAVE_BEEN_APPLIED) return "not applied";
  return "unknown";
}

/** A wall-clock time as hh:mm:ss.mmm (UTC), to line answers up with mongod's and keygate's logs. */
const clockTime = (ms: number) => new Date(ms).toISOString().slice(11, 23);
const describeCheck = (check: CheckRecord) =>
  `Check on ${check.replica} of ${check.key.name} (${check.kind}) at ${clockTime(check.startedAt)} took ${check.endedAt - check.startedAt} ms: ${check.answer}`;
const describeWrite = (write: WriteRecord) =>
  `${write.op} of ${write.key.name} at ${clockTime(write.startedAt)} took ${write.endedAt - write.startedAt} ms: ${write.code}${write.reason ? ` (${write.reason})` : ""}`;

/** Admin answers other than OK and `unavailable`, and Checks that failed as an RPC other than `unavailable` (fail-closed). */
export function unexpectedAnswers(load: ElectionLoad): string[] {
  return [
    ...load.writes.filter((write) => write.code !== "OK" && write.code !== "Unavailable").map(describeWrite),
    ...load.checks.filter((check) => check.answer.startsWith("rpc:") && check.answer !== "rpc:Unavailable").map(describeCheck),
  ];
}

/** Checks that took longer than `boundMs`. */
export function checksPastDeadline(load: ElectionLoad, boundMs: number): string[] {
  return load.checks.filter((check) => check.endedAt - check.startedAt > boundMs).map(describeCheck);
}

/**
 * When B has enforced the revoke of `keyId`: the end of B's first Check that answered
 * API_KEY_REVOKED and after which no Check on B admitted the key; undefined when it never did.
 */
export function enforcedOnB(load: ElectionLoad, keyId: string): number | undefined {
  const onB = load.checks.filter((check) => check.replica === "B" && check.key.id === keyId).sort((x, y) => x.startedAt - y.startedAt);
  let enforcedAt: number | undefined;
  for (const check of onB) {
    if (check.answer === "allowed") enforcedAt = undefined;
    else if (check.answer === "API_KEY_REVOKED" && enforcedAt === undefined) enforcedAt = check.endedAt;
  }
  return enforcedAt;
}

/**
 * Decisions the data does not allow. A key never revoked (or whose revoke was answered "not
 * applied") is admitted whenever a decision is made; a key whose revoke A acknowledged is never
 * admitted by A after the acknowledgement, nor by B once REVOKE_BOUND_MS has passed (counted from
 * the new primary's election for revokes acknowledged shortly before the primary went away).
 */
export function decisionsAgainstTheData(load: ElectionLoad, disruption: Disruption): string[] {
  const revokes = new Map(load.writes.filter((write) => write.op === "revoke").map((write) => [write.key.id, write]));
  const wrong: string[] = [];
  for (const check of load.checks) {
    if (check.answer.startsWith("rpc:")) continue; // judged by unexpectedAnswers
    const revoke = revokes.get(check.key.id);
    const outcome = revoke === undefined ? "not applied" : outcomeOf(revoke);
    if (outcome === "not applied") {
      if (check.answer !== "allowed") wrong.push(`${describeCheck(check)}, but the key was never revoked`);
      continue;
    }
    if (check.answer !== "allowed" && check.answer !== "API_KEY_REVOKED") wrong.push(`${describeCheck(check)}: neither allowed nor revoked`);
    if (check.answer !== "allowed" || outcome !== "applied" || revoke === undefined) continue;
    const acknowledged = revoke.endedAt;
    const nearTheElection = acknowledged >= disruption.at - REVOKE_BOUND_MS;
    const bound = check.replica === "A" ? acknowledged : Math.max(acknowledged, nearTheElection ? disruption.election.electedAt : 0) + REVOKE_BOUND_MS;
    if (check.startedAt >= bound) wrong.push(`${describeCheck(check)}: admitted ${check.startedAt - acknowledged} ms after its revoke was acknowledged`);
  }
  return wrong;
}

interface StoredKey {
  _id: string;
  organizationId: string;
  name: string;
  ownerUserId: string;
  revokedAt: Date | null;
}

/** Admin writes whose effect in the data (read after recovery) is not what their answer said. */
export async function writesNotAsAnswered(load: ElectionLoad, data: Db): Promise<string[]> {
  const ids = load.writes.map((write) => write.key.id);
  const stored = new Map((await data.collection<StoredKey>(COLLECTIONS.keys).find({ _id: { $in: ids } }).toArray()).map((doc) => [doc._id, doc]));
  const wrong: string[] = [];
  for (const write of load.writes) {
    const outcome = outcomeOf(write);
    if (outcome === "unknown") continue;
    const doc = stored.get(write.key.id);
    if (doc === undefined) {
      wrong.push(`${describeWrite(write)}: the key is gone`);
      continue;
    }
    const applied =
      write.op === "revoke"
        ? doc.revokedAt !== null
        : doc.name === write.update?.name && doc.ownerUserId === write.update.ownerUserId;
    const untouched = write.op === "revoke" ? doc.revokedAt === null : doc.name === write.key.name && doc.ownerUserId === write.key.ownerUserId;
    if (outcome === "applied" && !applied) wrong.push(`${describeWrite(write)}: answered OK, not in the data`);
    if (outcome === "not applied" && !untouched) wrong.push(`${describeWrite(write)}: answered "not applied", applied in the data`);
  }
  return wrong;
}

interface SlotCounter {
  _id: { organizationId: string; ownerUserId: string | null };
  held: number;
}

/**
 * Key slot counters of `organizationId` that differ from the keys they count: the organization's
 * and each owner user's, against the keys not revoked (deleted keys are gone from the collection).
 */
export async function countersNotEqualToKeys(data: Db, organizationId: string): Promise<string[]> {
  const label = (ownerUserId: string | null) => ownerUserId ?? "the organization";
  const counted = new Map<string, number>();
  for await (const key of data.collection<StoredKey>(COLLECTIONS.keys).find({ organizationId, revokedAt: null })) {
    for (const id of [label(null), label(key.ownerUserId)]) counted.set(id, (counted.get(id) ?? 0) + 1);
  }
  const wrong: string[] = [];
  const seen = new Set<string>();
  for (const counter of await data.collection<SlotCounter>(COLLECTIONS.keySlots).find({ "_id.organizationId": organizationId }).toArray()) {
    const id = label(counter._id.ownerUserId);
    seen.add(id);
    const keys = counted.get(id) ?? 0;
    if (counter.held !== keys) wrong.push(`${id}: counter ${counter.held}, keys ${keys}`);
  }
  for (const [id, keys] of counted) if (!seen.has(id)) wrong.push(`${id}: no counter, keys ${keys}`);
  return wrong;
}
