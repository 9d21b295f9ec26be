import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BudgetWindowDocument } from "../../src/store/mongo/budget-leases.js";
import { EXPLICIT_WINDOW_RETENTION_MS } from "../../src/store/store.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";

/**
 * How long MongoDB keeps a window the asker named (the store contract covers what it grants): a
 * window with an end until a day after it, so a late ask finds it rather than opening it afresh;
 * one with no end for good, since its balance is counted from it until set anew.
 */
describe("explicit budget windows in MongoDB", () => {
  let fresh: FreshMongoStore;
  beforeAll(async () => {
    fresh = await freshMongoStore();
  });
  afterAll(() => fresh.cleanup());

  const document = (bucket: string) => fresh.db.collection<BudgetWindowDocument>("budget_windows").findOne({ _id: bucket });
  const ask = (bucket: string, window: { startMs: number; endMs: number | null }) =>
    fresh.store.budgets.lease([{ bucket, unit: "day", window, limit: 10, holder: "a", windowStartMs: null, held: 0, floor: 0, want: 1 }]);

  it("keeps a window with an end until EXPLICIT_WINDOW_RETENTION_MS after it, and one with none without a TTL", async () => {
    const startMs = Date.now() - 60_000;
    await ask("credits/bounded", { startMs, endMs: startMs + 3_600_000 });
    expect(await document("credits/bounded")).toMatchObject({
      start: new Date(startMs),
      end: new Date(startMs + 3_600_000),
      expiresAt: new Date(startMs + 3_600_000 + EXPLICIT_WINDOW_RETENTION_MS),
    });
    await ask("credits/unbounded", { startMs, endMs: null });
    expect(await document("credits/unbounded")).toMatchObject({ start: new Date(startMs), end: null, expiresAt: null });
  });
});
