import type { Collection, Document } from "mongodb";
import type { MongoUnit } from "./transactions.js";

/**
 * Where each collection method the repositories call takes its options (the session goes
 * there), and whether it writes. Methods not listed (watch, createIndexes, ...) are never part
 * of a unit of work.
 */
const METHODS: Readonly<Record<string, { optionsAt: number; writes: boolean }>> = {
  find: { optionsAt: 1, writes: false },
  findOne: { optionsAt: 1, writes: false },
  countDocuments: { optionsAt: 1, writes: false },
  aggregate: { optionsAt: 1, writes: false },
  distinct: { optionsAt: 2, writes: false },
  insertOne: { optionsAt: 1, writes: true },
  insertMany: { optionsAt: 1, writes: true },
  deleteOne: { optionsAt: 1, writes: true },
  deleteMany: { optionsAt: 1, writes: true },
  findOneAndDelete: { optionsAt: 1, writes: true },
  bulkWrite: { optionsAt: 1, writes: true },
  updateOne: { optionsAt: 2, writes: true },
  updateMany: { optionsAt: 2, writes: true },
  replaceOne: { optionsAt: 2, writes: true },
  findOneAndUpdate: { optionsAt: 2, writes: true },
  findOneAndReplace: { optionsAt: 2, writes: true },
};

/**
 * The collection, with every operation made inside a unit of work (`unit()` gives it) made in
 * that unit's session, so it reads the unit's own writes and commits or aborts with them; and
 * each acknowledged write counted, so a unit without a transaction knows whether it failed
 * before or after changing anything; and one operation at a time. The driver runs an operation given no session outside the
 * transaction, silently: doing it here, once, means no repository method can forget it.
 */
export function inUnitSession<T extends Document>(collection: Collection<T>, unit: () => MongoUnit | undefined): Collection<T> {
  return new Proxy(collection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      const method = typeof property === "string" ? METHODS[property] : undefined;
      if (method === undefined || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const current = unit();
        if (current === undefined) return (value as (...args: unknown[]) => unknown).apply(target, args);
        if (current.session !== undefined) {
          args.length = Math.max(args.length, method.optionsAt + 1);
          // A transaction reads from the primary only: a read's own preference (Check's reads take
          // a secondary when there is no primary) would be refused inside one.
          const { readPreference: _, ...options } = (args[method.optionsAt] as Record<string, unknown> | undefined) ?? {};
          args[method.optionsAt] = { ...options, session: current.session };
        }
        const call = () => (value as (...args: unknown[]) => unknown).apply(target, args);
        // find and aggregate hand back a cursor at once; everything else is a promise, queued
        // behind the unit's previous operation: a transaction's operations must not run
        // concurrently (the driver leaves that undefined), whatever its caller awaits together.
        if (property === "find" || property === "aggregate") return call();
        const result = current.previous.then(call).then((done: unknown) => {
          if (method.writes) current.writesDone += 1;
          return done;
        });
        current.previous = result.catch(() => {});
        return result;
      };
    },
  });
}
