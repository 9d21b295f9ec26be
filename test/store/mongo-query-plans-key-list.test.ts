import type { CommandStartedEvent, Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import type { KeyListOrder, KeyListQuery } from "../../src/store/store.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { aKey } from "../support/records.js";
import { winningPlan } from "./winning-plan.js";

/**
 * ListKeys' queries on an organization of many keys are read from an index in the order they
 * ask for, bounded to the organization: the plan MongoDB makes for the very find the store sent
 * has no in-memory SORT stage and no collection scan, whatever the filter, search or order.
 */

const ROOMY = { organizationMax: 10_000, userMax: 10_000 };
const NOW = new Date(Date.UTC(2040, 0, 1));

describe("mongodb query plans of the key list", () => {
  let fresh: FreshMongoStore;
  const sent: Document[] = [];
  const org = newId("org");

  beforeAll(async () => {
    fresh = await freshMongoStore(undefined, { monitorCommands: true });
    fresh.db.client.on("commandStarted", (event: CommandStartedEvent) => sent.push(event.command));
    for (let i = 0; i < 60; i++) {
      await fresh.store.keys.create(aKey(org, { name: `key ${i % 7} ${i}`, isActive: i % 3 !== 0, expiresAt: i % 5 === 0 ? NOW : null }), ROOMY);
    }
    await fresh.store.keys.create(aKey(newId("org")), ROOMY);
  }, 120_000);
  afterAll(async () => {
    await fresh?.cleanup();
  });

  /** The stages and indexes of the winning plan for the last find the store sent. */
  async function planOfLastFind(): Promise<{ stages: string[]; indexes: string[] }> {
    const command = sent.filter((c) => "find" in c).at(-1)!;
    const { find, filter, sort, limit, hint } = command;
    const explained = await fresh.db.command({ explain: { find, filter, sort, limit, ...(hint && { hint }) }, verbosity: "queryPlanner" });
    return winningPlan(explained);
  }

  const filters: [string, Omit<KeyListQuery, "limit" | "order">][] = [
    ["no filter", {}],
    ["a state", { state: { is: "active", now: NOW } }],
    ["a search", { search: "KEY 3" }],
    ["a state and a search", { state: { is: "disabled", now: NOW }, search: "key 1" }],
  ];
  const orders: KeyListOrder[] = ["created_desc", "created_asc", "name_asc", "name_desc"];

  it.each(orders.flatMap((order) => filters.map(([label, filter]) => [order, label, filter] as const)))(
    "reads %s with %s from an index of the organization, after a cursor, without sorting",
    async (order, _label, filter) => {
      const [first] = await fresh.store.keys.list(org, { ...filter, order, limit: 1 });
      await fresh.store.keys.list(org, { ...filter, order, afterId: first?.id ?? "key_0", afterName: first?.name ?? "", limit: 5 });
      const plan = await planOfLastFind();
      expect(plan.stages).not.toContain("SORT");
      expect(plan.stages).not.toContain("COLLSCAN");
      expect(plan.indexes.length).toBeGreaterThan(0);
      expect(plan.indexes.every((name) => name.startsWith("organizationId_"))).toBe(true);
    },
  );
});
