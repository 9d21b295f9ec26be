import type { KeyRecord } from "../model/records.js";

/**
 * Announces that a key's record changed or disappeared, so whatever holds a copy (the Check
 * key cache) drops it at once. Carries the hashes the key could be found by, before the change.
 */
export type ChangedKey = Pick<KeyRecord, "id" | "organizationId" | "secretHash" | "previousSecret">;
export type KeyChangeListener = (key: ChangedKey) => void;

export type OrganizationChangeListener = (organizationId: string) => void;

export class KeyEvents {
  readonly #listeners = new Set<KeyChangeListener>();
  readonly #organizationListeners = new Set<OrganizationChangeListener>();

  /** Returns a function that removes the listener. */
  onChange(listener: KeyChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  changed(key: ChangedKey): void {
    for (const listener of this.#listeners) listener(key);
  }

  /** An organization's plan changed: whatever caches it, or keys with it, must drop them. */
  onOrganizationChange(listener: OrganizationChangeListener): () => void {
    this.#organizationListeners.add(listener);
    return () => this.#organizationListeners.delete(listener);
  }

  organizationChanged(organizationId: string): void {
    for (const listener of this.#organizationListeners) listener(organizationId);
  }
}
