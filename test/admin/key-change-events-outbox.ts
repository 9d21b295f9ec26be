import type { Store, WebhookRepository } from "../../src/store/store.js";
import type { WebhookEvent } from "../../src/model/webhooks.js";
import { boundProperty, storeWith } from "../support/store-with.js";

/**
 * A store whose webhook outbox is watched, for the key-change-events suites: each event queued
 * goes to the store's own outbox and is recorded, seen only once its unit has committed (so the
 * event of a change that was rolled back is never seen); while `failing`, queueing throws as an
 * outbox that cannot be written would. Everything else is the store's own.
 */
export class WatchedOutbox {
  /** Makes every enqueue throw (true) or record again (false). */
  failing = false;
  readonly store: Store;
  #committed: WebhookEvent[] = [];

  constructor(inner: Store) {
    const enqueue: WebhookRepository["enqueue"] = async (event) => {
      if (this.failing) throw new Error("the outbox cannot be written");
      const deliveries = await inner.webhooks.enqueue(event);
      inner.afterCommit(() => this.#committed.push(event));
      return deliveries;
    };
    const webhooks = new Proxy({} as WebhookRepository, {
      get: (_target, property) => (property === "enqueue" ? enqueue : boundProperty(inner.webhooks, property)),
    });
    this.store = storeWith(inner, { webhooks });
  }

  /** The events committed since the last call, oldest first. */
  take(): WebhookEvent[] {
    const taken = this.#committed;
    this.#committed = [];
    return taken;
  }
}
