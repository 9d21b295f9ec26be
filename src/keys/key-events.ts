import type { KeyRecord } from "../model/records.js";

/** The hashes a key could be found by: its current secret's and, during a rotation's grace, the previous one's. */
export type ChangedKey = Pick<KeyRecord, "id" | "organizationId" | "secretHash" | "previousSecret">;

/** `key` is the record as it is now, null when it is gone; `previously` names the hashes it was found by before. */
export type KeyChangeListener = (previously: ChangedKey, key: KeyRecord | null) => void;

export type OrganizationChangeListener = (organizationId: string) => void;

export type IdentityChangeListener = (identityId: string) => void;

/**
 * Announces that a key's record changed or disappeared, so whatever holds a copy (the Check key
 * cache, the other cluster workers) takes the new record or drops it at once. Announcements made
 * inside a store unit of work wait until it has committed (`defer`: Store.afterCommit), so nobody
 * ever sees a change that was rolled back or retried.
 */
export class KeyEvents {
  readonly #listeners = new Set<KeyChangeListener>();
  readonly #organizationListeners = new Set<OrganizationChangeListener>();
  readonly #identityListeners = new Set<IdentityChangeListener>();
  readonly #defer: (announce: () => void) => void;

  /** `defer` runs an announcement when it may be made; default at once. */
  constructor(defer: (announce: () => void) => void = (announce) => announce()) {
    this.#defer = defer;
  }

  /** Returns a function that removes the listener. */
  onChange(listener: KeyChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The key changed; `previously` is the record before, when the change moved its secrets (a rotation). */
  changed(key: KeyRecord, previously: ChangedKey = key): void {
    this.#defer(() => {
      for (const listener of this.#listeners) listener(previously, key);
    });
  }

  /** The key is gone. */
  removed(key: ChangedKey): void {
    this.#defer(() => {
      for (const listener of this.#listeners) listener(key, null);
    });
  }

  /** An organization's plan changed: whatever caches it, or keys with it, must drop them. */
  onOrganizationChange(listener: OrganizationChangeListener): () => void {
    this.#organizationListeners.add(listener);
    return () => this.#organizationListeners.delete(listener);
  }

  organizationChanged(organizationId: string): void {
    this.#defer(() => {
      for (const listener of this.#organizationListeners) listener(organizationId);
    });
  }

  /**
   * An identity changed or is gone (its limits and credits are its keys' too): whatever caches it
   * (the Check identity cache) reads it again, so the next Check sees the change on this process
   * at once. Other processes learn it from the store's change log.
   */
  onIdentityChange(listener: IdentityChangeListener): () => void {
    this.#identityListeners.add(listener);
    return () => this.#identityListeners.delete(listener);
  }

  identityChanged(identityId: string): void {
    this.#defer(() => {
      for (const listener of this.#identityListeners) listener(identityId);
    });
  }
}
