import type { Store } from "../../src/store/store.js";

/**
 * `inner` with some of its repositories replaced (`keys` counted, `webhooks` watched, …) and the
 * rest its own, methods bound to it: stores keep private fields, so `store.atomically()` called
 * on a plain Proxy (`this` the proxy) would throw.
 */
export function storeWith(inner: Store, replaced: Partial<Pick<Store, "keys" | "organizations" | "webhooks" | "budgets" | "replicas">>): Store {
  return new Proxy(inner, {
    get: (target, property) => (property in replaced ? replaced[property as keyof typeof replaced] : boundProperty(target, property)),
  });
}

/** A property of `target`, its methods bound to it. */
export function boundProperty(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === "function" ? value.bind(target) : value;
}
