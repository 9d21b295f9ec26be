import type { ClientSession, Collection, Document } from "mongodb";

/**
 * Where each collection method the repositories call takes its options: the session goes there.
 * Methods not listed (watch, createIndexes, ...) are never part of a unit of work.
 */
const OPTIONS_AT: Readonly<Record<string, number>> = {
  find: 1,
  findOne: 1,
  countDocuments: 1,
  aggregate: 1,
  insertOne: 1,
  insertMany: 1,
  deleteOne: 1,
  deleteMany: 1,
  findOneAndDelete: 1,
  bulkWrite: 1,
  updateOne: 2,
  updateMany: 2,
  replaceOne: 2,
  findOneAndUpdate: 2,
  findOneAndReplace: 2,
  distinct: 2,
};

/**
 * The collection, with every operation inside a unit of work (`session()` gives its session) made
 * in that unit's session, so it reads the unit's own writes and commits or aborts with them. The
 * driver runs an operation given no session outside the transaction, silently: doing it here,
 * once, means no repository method can forget it.
 */
export function inUnitSession<T extends Document>(collection: Collection<T>, session: () => ClientSession | undefined): Collection<T> {
  return new Proxy(collection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      const at = typeof property === "string" ? OPTIONS_AT[property] : undefined;
      if (at === undefined || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const current = session();
        if (current !== undefined) {
          args.length = Math.max(args.length, at + 1);
          args[at] = { ...(args[at] as object | undefined), session: current };
        }
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
