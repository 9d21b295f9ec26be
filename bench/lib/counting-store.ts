import type { BudgetLeaseRequest, Store } from "../../src/store/store.js";

/**
 * The store as keygate sees it in the bench, counting calls per repository (keys, organizations,
 * users, audit, usage, budgets, and any added later); the readiness ping is not a repository call
 * and is not counted. Zero key and organization reads across a measurement of cache hits is the
 * proof that a hit costs no store operation; the usage flush (one batched write a second, whatever
 * the traffic) and the budget leases (one call per batched ask, issue 15) are reported beside them.
 * A lease call carries several buckets, so the buckets it asked for are counted too, as
 * `LEASED_BUCKETS`; `onCall` sees every call and its result, for timing the asks one by one.
 */

export const LEASED_BUCKETS = "leased buckets";

export type OnStoreCall = (repository: string, method: string, args: readonly unknown[], result: unknown) => void;

export function countingStore(store: Store, onCall?: OnStoreCall): { store: Store; operations(): Record<string, number> } {
  const operations: Record<string, number> = {};
  const repositories = new Map<PropertyKey, unknown>();
  const count = (name: string, n = 1) => (operations[name] = (operations[name] ?? 0) + n);
  const wrapRepository = (name: string, repository: object): object =>
    new Proxy(repository, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          count(name);
          if (name === "budgets" && property === "lease") count(LEASED_BUCKETS, (args[0] as BudgetLeaseRequest[]).length);
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          onCall?.(name, String(property), args, result);
          return result;
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
