import type { Store } from "../../src/store/store.js";
import type { StoreMaker } from "./clients.js";
import { storeWith } from "../support/store-with.js";

/** Runs `change` right after the next read of a key by id, before that read's caller sees it. */
export interface ChangeAfterRead {
  afterNextRead(keyId: string, change: () => Promise<unknown>): void;
  /** Drops a change not yet run. */
  disarm(): void;
}

/**
 * A store on which another caller's write lands between a handler's read of a key (the one its
 * decision is made on) and its write, every time it is asked to: the race of a decision on a key
 * that changes meanwhile, made deterministic. Unarmed, it is the store it wraps.
 */
export function changingAfterRead(makeStore: StoreMaker): { makeStore: StoreMaker; race: ChangeAfterRead } {
  let armed: { keyId: string; change: () => Promise<unknown> } | undefined;
  const race: ChangeAfterRead = {
    afterNextRead: (keyId, change) => void (armed = { keyId, change }),
    disarm: () => void (armed = undefined),
  };
  const wrap = (inner: Store): Store => {
    const keys = new Proxy(inner.keys, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (property !== "findById") return typeof value === "function" ? value.bind(target) : value;
        return async (organizationId: string, id: string) => {
          const key = await target.findById(organizationId, id);
          const due = armed?.keyId === id ? armed : undefined;
          if (due) {
            armed = undefined;
            await due.change();
          }
          return key;
        };
      },
    });
    return storeWith(inner, { keys });
  };
  return {
    race,
    makeStore: async () => {
      const made = await makeStore();
      return { store: wrap(made.store), cleanup: made.cleanup };
    },
  };
}
