import { expect } from "vitest";
import type { KeyRecord } from "../../../src/model/records.js";
import type { CreateKeyOutcome, KeySlotLimits, Store } from "../../../src/store/store.js";

/** What the parts of the store contract share: the times records carry, and keys made through the store. */

export const ROOMY: KeySlotLimits = { organizationMax: 1_000, userMax: 1_000 };
export const T1 = new Date("2031-03-02T11:30:00.123Z");
export const T2 = new Date("2031-03-03T12:45:00.456Z");

export const refused = (reason: string): CreateKeyOutcome => ({ ok: false, reason }) as CreateKeyOutcome;

export interface KeysThroughStore {
  /** Creates a key that must be accepted and returns it as given. */
  created(key: KeyRecord, limits?: KeySlotLimits): Promise<KeyRecord>;
  createdKeys(count: number, make: () => KeyRecord, limits?: KeySlotLimits): Promise<KeyRecord[]>;
  /** Slots held by the organization and by each of the given owners, in that order. */
  slotsHeld(organizationId: string, ...owners: string[]): Promise<number[]>;
}

/** Key helpers on the store under test, which `getStore` gives once the entry point has made it. */
export function keysThrough(getStore: () => Store): KeysThroughStore {
  async function created(key: KeyRecord, limits: KeySlotLimits = ROOMY): Promise<KeyRecord> {
    expect(await getStore().keys.create(key, limits)).toEqual({ ok: true, key });
    return key;
  }

  async function createdKeys(count: number, make: () => KeyRecord, limits: KeySlotLimits = ROOMY): Promise<KeyRecord[]> {
    const keys: KeyRecord[] = [];
    for (let i = 0; i < count; i++) keys.push(await created(make(), limits));
    return keys;
  }

  const slotsHeld = (organizationId: string, ...owners: string[]): Promise<number[]> =>
    Promise.all([
      getStore().keys.countHoldingSlots(organizationId),
      ...owners.map((owner) => getStore().keys.countHoldingSlots(organizationId, owner)),
    ]);

  return { created, createdKeys, slotsHeld };
}
