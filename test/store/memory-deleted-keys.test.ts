import { describe, expect, it } from "vitest";
import { newId } from "../../src/model/ids.js";
import { DELETED_KEY_RETENTION_MS } from "../../src/store/deleted-key-repository.js";
import { MemoryDeletedKeyRepository } from "../../src/store/memory/deleted-key-repository.js";
import { MemoryKeyRepository } from "../../src/store/memory/key-repository.js";
import { aKey } from "../support/records.js";

/** The embedded store forgets deleted keys past the retention, as MongoDB's TTL index does. */
describe("the embedded store's deleted keys", () => {
  it("finds a deleted key for the retention and not a moment longer", async () => {
    let now = Date.parse("2031-01-01T00:00:00.000Z");
    const deleted = new MemoryDeletedKeyRepository(() => now);
    const keys = new MemoryKeyRepository(deleted);
    const org = newId("org");
    const [old, later] = [aKey(org), aKey(org)];
    for (const key of [old, later]) await keys.create(key, { organizationMax: 10, userMax: 10 });
    await keys.delete(org, old.id);
    now += 1_000;
    await keys.delete(org, later.id);

    now += DELETED_KEY_RETENTION_MS - 1_000 - 1;
    expect(await deleted.findByHash(old.secretHash)).toMatchObject({ id: old.id, deletedAt: new Date(now - DELETED_KEY_RETENTION_MS + 1) });
    now += 1;
    expect(await deleted.findByHash(old.secretHash)).toBeNull();
    expect(await deleted.findByHash(later.secretHash)).toMatchObject({ id: later.id });
  });
});
