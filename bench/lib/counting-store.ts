import type { Store } from "../../src/store/store.js";

/**
 * The store as keygate sees it in the bench, counting calls per repository (keys, organizations,
 * users, audit, usage, and any added later); the readiness ping is not a repository call and is
 * not counted. Zero key and organization reads across a measurement of cache hits is the proof
 * that a hit costs no store operation; the usage flush (one batched write a second, whatever the
 * traffic) is reported beside them.
 */
export function countingStore(store: Store): { store: Store; operations(): Record<string, number> } {
  const operations: Record<string, number> = {};
  const repositories = new Map<PropertyKey, unknown>();
  const wrapRepository = (name: string, repository: object): object =>
    new Proxy(repository, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          operations[name] = (operations[name] ?? 0) + 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value === "function") return (value as (...a: unknown[]) => unknown).bind(target);
      if (typeof value !== "object" || value === null) return value;
      let repository = repositories.get(property);
      if (repository === undefined) repositories.set(property, (repository = wrapRepository(String(property), value)));
      return repository;
    },
  });
  return { store: wrapped, operations: () => ({ ...operations }) };
}
