import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { ApiKey } from "../../gen/keygate/v1/key_admin_pb.js";
import { api } from "./api.js";

/**
 * Where a key's secret was found in public: the audit trail's `key.leaked` entries, which
 * src/leaks/act-on-leaks.ts writes with the report's URL and source and the action taken.
 * ListAuditEvents filters by key and by action and ApiKey carries no leak mark, so the console
 * asks, per key, for that key's `key.leaked` entries only: one small request, however long the
 * key's log.
 */

export interface Leak {
  url: string;
  /** Where the scanner saw it, as GitHub names it (content, commit, gist, issue, …). */
  source: string;
  /** What keygate did: notify, disable or revoke. */
  action: string;
  at: Timestamp | undefined;
}

/** The key's leak reports, newest first. */
export async function leaksOf(keyId: string, signal: AbortSignal): Promise<Leak[]> {
  const leaks: Leak[] = [];
  let pageToken = "";
  do {
    const page = await api.listAuditEvents({ keyId, action: "key.leaked", pageSize: 1000, pageToken }, { signal });
    for (const event of page.events) {
      const { url = "", source = "", action = "" } = event.details;
      leaks.push({ url, source, action, at: event.occurredAt });
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return leaks;
}

/** A few at a time, so a page of keys does not open a hundred requests at once. */
const PARALLEL = 4;

/** The ids of the keys among `keys` that were reported leaked. */
export async function leakedAmong(keys: readonly ApiKey[], signal: AbortSignal): Promise<Set<string>> {
  const leaked = new Set<string>();
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.shift(); key; key = queue.shift()) {
      if ((await leaksOf(key.id, signal)).length > 0) leaked.add(key.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
  return leaked;
}

/** A link only for a web address: a report's URL is outside data and must never run script. */
export function isWebAddress(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}
