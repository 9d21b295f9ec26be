import type { CommandStartedEvent, Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey } from "../support/records.js";
import { winningPlan } from "./winning-plan.js";
import { anEndpoint, anEvent, createdEndpoints } from "./contract/webhook-fixtures.js";

/**
 * The queries that run every second or page through many documents are read from an index in
 * the order they ask for: the plan MongoDB makes for the very command the store sent has no
 * in-memory SORT stage.
 */

const ROOMY = { organizationMax: 1_000, userMax: 1_000 };
const T = (minute: number) => new Date(Date.UTC(2040, 0, 1, 0, minute));

describe("mongodb query plans", () => {
  let fresh: FreshMongoStore;
  const sent: Document[] = [];

  beforeAll(async () => {
    fresh = await freshMongoStore(undefined, { monitorCommands: true });
    fresh.db.client.on("commandStarted", (event: CommandStartedEvent) => sent.push(event.command));
  });
  afterAll(async () => {
    await fresh?.cleanup();
  });

  /** The plan's stages, and the indexes its scans use, for the last command of `name` sent. */
  async function planOfLast(name: string, keep: string[]): Promise<{ stages: string[]; indexes: string[] }> {
    const command = sent.filter((c) => name in c).at(-1)!;
    const explained = await fresh.db.command({ explain: Object.fromEntries(Object.entries(command).filter(([field]) => field === name || keep.includes(field))), verbosity: "queryPlanner" });
    return winningPlan(explained);
  }

  it("claims due deliveries on status_nextAttemptAt_id, in its order", async () => {
    const org = newId("org");
    const [, other] = await createdEndpoints(fresh.store, anEndpoint(org), anEndpoint(org));
    for (let minute = 0; minute < 20; minute++) await fresh.store.webhooks.enqueue(anEvent(org, "key.updated", T(minute)));
    await fresh.store.webhooks.claimDue("a", T(30), T(40), 2, [other!.id], [newId("org")]);
    const plan = await planOfLast("findAndModify", ["query", "sort", "update", "new"]);
    expect(plan.indexes).toEqual(["status_nextAttemptAt_id"]);
    expect(plan.stages).not.toContain("SORT");
  });

  it("walks keys by expiry on expiresAt_id, in its order, after a cursor", async () => {
    const org = newId("org");
    for (let i = 0; i < 20; i++) await fresh.store.keys.create(aKey(org, { expiresAt: T(i % 5) }), ROOMY);
    const [first] = await fresh.store.keys.listExpiringBetween(T(0), T(10), { limit: 1 });
    await fresh.store.keys.listExpiringBetween(T(0), T(10), { after: { expiresAt: first!.expiresAt!, id: first!.id }, limit: 5 });
    const plan = await planOfLast("find", ["filter", "sort", "limit"]);
    expect(plan.indexes).toEqual(["expiresAt_id"]);
    expect(plan.stages).not.toContain("SORT");
  });
});
