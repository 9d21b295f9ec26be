import { readFileSync } from "node:fs";
import type { CommandStartedEvent, Document } from "mongodb";
import { describe, expect, it } from "vitest";
import { COLLECTIONS } from "../../src/store/mongo/mongo-store.js";
import { isSharded, SHARDING, type CollectionName, type ShardedCollection } from "../../src/store/mongo/shard-keys.js";
import { freshMongoStore } from "../support/mongo.js";
import { withCounterWriter } from "../support/stored-counters.js";
import { describeStoreContract } from "./contract.js";

/**
 * There is no mongos here, so targeting is proven from what keygate sends: the whole store
 * contract (every store method the Check path and the admin API call, in every state the contract
 * puts them in) runs on a client whose commands are recorded, and then every query on a collection
 * shard-keys.ts shards must fix the fields that route it (equality or `$in`), every upsert its
 * whole shard key, every insert must carry the shard key, and a transaction may touch a sharded
 * collection only where shard-keys.ts says so (elsewhere each stays on the primary shard).
 */
const sent: Document[] = [];

describeStoreContract("mongodb, commands recorded", async () => {
  const fresh = withCounterWriter(await freshMongoStore(undefined, { monitorCommands: true }));
  fresh.db.client.on("commandStarted", (event: CommandStartedEvent) => sent.push(event.command));
  return fresh;
});

interface Query {
  collection: CollectionName;
  command: string;
  filter: Document;
  upsert: boolean;
}

/** The filters a command selects documents by; an aggregation's is its leading `$match`. */
function queriesOf(command: Document): Query[] {
  const [name] = Object.keys(command) as [string];
  const collection = command[name] as CollectionName;
  const query = (filter: Document | undefined, upsert = false): Query => ({ collection, command: name, filter: filter ?? {}, upsert });
  switch (name) {
    case "find":
      return [query(command["filter"])];
    case "count":
    case "distinct":
      return [query(command["query"])];
    case "findAndModify":
      return [query(command["query"], command["upsert"] === true)];
    case "update":
      return (command["updates"] as Document[]).map((update) => query(update["q"], update["upsert"] === true));
    case "delete":
      return (command["deletes"] as Document[]).map((deletion) => query(deletion["q"]));
    case "aggregate":
      return [query((command["pipeline"] as Document[])[0]?.["$match"])];
    default:
      return [];
  }
}

/** Whether the filter pins `field` to one value or a list of them. */
function fixes(filter: Document, field: string, equalityOnly: boolean): boolean {
  const condition: unknown = filter[field];
  if (condition === undefined) return false;
  if (typeof condition !== "object" || condition === null || condition instanceof Date) return true;
  const operators = Object.keys(condition);
  if (operators.length === 0 || !operators[0]!.startsWith("$")) return true; // an embedded document, by equality
  return operators.includes("$eq") || (!equalityOnly && operators.includes("$in"));
}

const sharded = Object.entries(SHARDING).filter((entry): entry is [CollectionName, ShardedCollection] => isSharded(entry[1]));

describe("every query on a sharded collection is routed by its shard key", () => {
  const commands = () => sent.filter((command) => SHARDING[Object.values(command)[0] as CollectionName] !== undefined);

  it("names a collection for each of the store's collections", () => {
    expect(Object.keys(SHARDING).sort()).toEqual(Object.values(COLLECTIONS).sort());
  });

  it("each query fixes the fields that route it, each upsert its whole shard key", () => {
    const unrouted: Query[] = [];
    const seen = new Map<CollectionName, number>();
    for (const query of commands().flatMap(queriesOf)) {
      const entry = SHARDING[query.collection];
      if (!isSharded(entry)) continue;
      seen.set(query.collection, (seen.get(query.collection) ?? 0) + 1);
      const fields = query.upsert ? Object.keys(entry.shardKey) : entry.routedBy;
      if (!fields.every((field) => fixes(query.filter, field, query.upsert))) unrouted.push(query);
    }
    expect(unrouted).toEqual([]);
    // The contract did query every sharded collection: the check above is not vacuous.
    for (const [name] of sharded) expect(seen.get(name) ?? 0, name).toBeGreaterThan(0);
  });

  it("each inserted document carries its shard key, so it lands where the queries look", () => {
    const inserts = commands().filter((command) => command["insert"] !== undefined && isSharded(SHARDING[command["insert"] as CollectionName]));
    const missing = inserts.flatMap((command) => {
      const { shardKey } = SHARDING[command["insert"] as CollectionName] as ShardedCollection;
      return (command["documents"] as Document[]).filter((doc) => Object.keys(shardKey).some((field) => doc[field] === undefined));
    });
    expect(missing).toEqual([]);
  });

  it("no transaction touches a sharded collection but those shard-keys.ts says may join one", () => {
    const inTransactions = new Set(commands().filter((command) => command["autocommit"] === false).map((command) => Object.values(command)[0] as CollectionName));
    expect(inTransactions.size).toBeGreaterThan(0);
    const undeclared = [...inTransactions].filter((name) => {
      const entry = SHARDING[name];
      return isSharded(entry) && entry.inTransactions === undefined;
    });
    expect(undeclared).toEqual([]);
  });

  it("docs/operating.md gives the shardCollection command for each sharded collection, and names the others", () => {
    const operating = readFileSync(new URL("../../docs/operating.md", import.meta.url), "utf8");
    for (const [name, entry] of sharded) {
      const key = Object.entries(entry.shardKey).map(([field, order]) => `${field}: ${order}`).join(", ");
      expect(operating).toContain(`sh.shardCollection("keygate.${name}", { ${key} })`);
    }
    for (const [name, entry] of Object.entries(SHARDING)) if (!isSharded(entry)) expect(operating).toContain(`\`${name}\``);
  });
});
