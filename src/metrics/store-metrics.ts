import type { Tracer } from "@opentelemetry/api";
import type { StoreObserver } from "./metrics.js";
import { storeCallSpan } from "./store-spans.js";

/**
 * A store whose every call is timed and counted: the store's own methods (ping, init, close) as
 * repository `store`, and each repository property (keys, organizations, users, audit, usage, ...)
 * under its name. Labels are property and method names, a closed set. The real method always runs
 * on the real object, since stores keep private fields that a Proxy receiver cannot reach.
 * With a tracer (tracing configured), a call made inside a traced Check or admin RPC is also a
 * span (store-spans.ts).
 */
export function instrumentStore<S extends object>(store: S, observer: StoreObserver, nowMs: () => number = () => performance.now(), tracer?: Tracer): S {
  const repositories = new Map<string, object>();
  const storeMethods = timedMethods(store, "store", observer, nowMs, tracer);
  if (observer.offered) announceOperations(store, observer.offered.bind(observer));
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof property !== "string") return value;
      if (typeof value === "function") return storeMethods(property, value as (...args: unknown[]) => unknown);
      if (typeof value !== "object" || value === null) return value;
      let repository = repositories.get(property);
      if (repository === undefined) {
        repository = instrumentRepository(value, property, observer, nowMs, tracer);
        repositories.set(property, repository);
      }
      return repository;
    },
  });
}

function instrumentRepository(repository: object, name: string, observer: StoreObserver, nowMs: () => number, tracer: Tracer | undefined): object {
  const methods = timedMethods(repository, name, observer, nowMs, tracer);
  return new Proxy(repository, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      return typeof property === "string" && typeof value === "function" ? methods(property, value as (...args: unknown[]) => unknown) : value;
    },
  });
}

type Method = (...args: unknown[]) => unknown;

/** Public method names of an object: its own and its classes' (Object's excepted). */
function methodNames(target: object): string[] {
  const names = new Set<string>();
  for (let layer: object | null = target; layer !== null && layer !== Object.prototype; layer = Object.getPrototypeOf(layer) as object | null) {
    for (const name of Object.getOwnPropertyNames(layer)) {
      if (name !== "constructor" && typeof Object.getOwnPropertyDescriptor(layer, name)?.value === "function") names.add(name);
    }
  }
  return [...names];
}

/** Every operation the store and its repositories offer, so their error counters show 0 from the start. */
function announceOperations(store: object, offered: (repository: string, operation: string) => void): void {
  for (const operation of methodNames(store)) offered("store", operation);
  for (const [repository, value] of Object.entries(store)) {
    if (typeof value === "object" && value !== null) for (const operation of methodNames(value as object)) offered(repository, operation);
  }
}

/** Wrapped methods of one object, made once per method name. */
function timedMethods(target: object, repository: string, observer: StoreObserver, nowMs: () => number, tracer: Tracer | undefined) {
  const wrapped = new Map<string, { original: Method; timed: Method }>();
  return (operation: string, original: Method): Method => {
    const known = wrapped.get(operation);
    if (known?.original === original) return known.timed;
    const timed: Method = (...args) => {
      const started = nowMs();
      const span = tracer === undefined ? undefined : storeCallSpan(tracer, repository, operation);
      const done = (failed: boolean) => {
        observer.called(repository, operation, (nowMs() - started) / 1000, failed);
        span?.end(failed);
      };
      let result: unknown;
      try {
        result = original.apply(target, args);
      } catch (error) {
        done(true);
        throw error;
      }
      if (result instanceof Promise) {
        return result.then(
          (value: unknown) => {
            done(false);
            return value;
          },
          (error: unknown) => {
            done(true);
            throw error;
          },
        );
      }
      done(false);
      return result;
    };
    wrapped.set(operation, { original, timed });
    return timed;
  };
}
