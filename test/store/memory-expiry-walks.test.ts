import { afterEach, describe, expect, it, vi } from "vitest";
import type { KeyRecord } from "../../src/model/records.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { ExpiryCursor } from "../../src/store/store.js";
import { aKey } from "../support/records.js";

/** The embedded store's walk by expiry: the range is sorted once per walk, not on every page. */

const ROOMY = { organizationMax: 10_000, userMax: 10_000 };
const T0 = Date.UTC(2031, 0, 1);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("memory store: keys expiring between", () => {
  it("sorts a walk's keys once, then pages through them in (expiry, id) order by the cursor", async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 2_000; i++) {
      const created = await store.keys.create(aKey(`org_${i % 7}`, { expiresAt: new Date(T0 + ((i * 7919) % 1_000) * 60_000) }), ROOMY);
      if (!created.ok) throw new Error(created.reason);
    }
    const sort = vi.spyOn(Array.prototype, "sort");
    const walked: KeyRecord[] = [];
    let after: ExpiryCursor | undefined;
    for (let pages = 0; ; pages++) {
      const page = await store.keys.listExpiringBetween(new Date(T0 - 1), new Date(T0 + 1_000 * 60_000), { limit: 100, ...(after && { after }) });
      walked.push(...page);
      if (page.length < 100) break;
      const last = page[page.length - 1]!;
      after = { expiresAt: last.expiresAt!, id: last.id };
    }
    const sorts = sort.mock.calls.length;
    sort.mockRestore();
    expect(sorts).toBe(1);
    expect(walked).toHaveLength(2_000);
    const order = walked.map((key) => [key.expiresAt!.getTime(), key.id] as const);
    expect(order).toEqual([...order].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1)));
  });
});
