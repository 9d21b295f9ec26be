import type { Store, WebhookRepository } from "../../src/store/store.js";
import type { WebhookEvent } from "../../src/model/webhooks.js";

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
      get: (_target, property) => (property === "enqueue" ? enqueue : bound(inner.webhooks, property)),
    });
    this.store = new Proxy(inner, { get: (target, property) => (property === "webhooks" ? webhooks : bound(target, property)) });
  }

  /** The events committed since the last call, oldest first. */
  take(): WebhookEvent[] {
    const taken = this.#committed;
    this.#committed = [];
    return taken;
  }
}

/** A property of `target`, its methods bound to it (stores keep private fields). */
function bound(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === "function" ? value.bind(target) : value;
}
