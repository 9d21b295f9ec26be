import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeyTable } from "../../src/store/memory/key-table.js";
import { arbitraryKeyRecord } from "./arbitrary-key-record.js";

/** The embedded store's compact rows give back every field of every key exactly, and share nothing with callers. */
describe("KeyTable", () => {
  it("reads back every field of the keys it was given, whatever else was written or removed in between", () => {
    fc.assert(
      fc.property(fc.array(arbitraryKeyRecord, { minLength: 1, maxLength: 30 }), fc.array(arbitraryKeyRecord, { maxLength: 30 }), (kept, churn) => {
        const table = new KeyTable();
        const expected = structuredClone(kept);
        const rows = kept.map((key) => table.insert(key));
        // Rows come and go around the kept ones: removed rows are reused, rewritten ones release what they held.
        for (const key of churn) {
          const row = table.insert(key);
          table.write(row, kept[row % kept.length]!);
          table.remove(row);
        }
        rows.forEach((row, i) => expect(table.read(row)).toStrictEqual(expected[i]));
      }),
    );
  });

  it("rewrites a row to exactly the record given", () => {
    fc.assert(
      fc.property(arbitraryKeyRecord, arbitraryKeyRecord, (first, second) => {
        const table = new KeyTable();
        const row = table.insert(first);
        table.write(row, second);
        expect(table.read(row)).toStrictEqual(structuredClone(second));
      }),
    );
  });

  it("keeps nothing of the caller's objects, and hands out a fresh record each read", () => {
    fc.assert(
      fc.property(arbitraryKeyRecord, (key) => {
        const table = new KeyTable();
        const expected = structuredClone(key);
        const row = table.insert(key);
        mutate(key);
        const read = table.read(row);
        mutate(read);
        expect(table.read(row)).toStrictEqual(expected);
      }),
    );
  });

  it("answers the scans' questions as the record would", () => {
    fc.assert(
      fc.property(arbitraryKeyRecord, (key) => {
        const table = new KeyTable();
        const row = table.insert(key);
        expect(table.id(row)).toBe(key.id);
        expect(table.organizationId(row)).toBe(key.organizationId);
        expect(table.ownerUserId(row)).toBe(key.ownerUserId);
        expect(table.isActive(row)).toBe(key.isActive);
        expect(table.isRevoked(row)).toBe(key.revokedAt !== null);
        expect([...table.sealedRows()]).toStrictEqual(key.encryptedSecret ? [[row, key.encryptedSecret.keyId]] : []);
      }),
    );
  });
});

/** Changes every mutable part of a record in place. */
function mutate(key: ReturnType<KeyTable["read"]>): void {
  key.scopes.push("changed");
  key.allowIps.push("10.0.0.0/8");
  key.createdAt.setTime(0);
  key.updatedAt.setTime(0);
  key.revokedAt?.setTime(0);
  key.expiresAt?.setTime(0);
  if (key.rateLimit) key.rateLimit.limit = -1;
  if (key.previousSecret) {
    key.previousSecret.hash = "changed";
    key.previousSecret.expiresAt.setTime(0);
  }
  if (key.encryptedSecret) key.encryptedSecret.nonce = "changed";
}
