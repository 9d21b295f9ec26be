import pino from "pino";
import { describe, expect, it } from "vitest";
import { ChangeFeed } from "../../src/cache/change-feed.js";
import type { Logger } from "../../src/log/logger.js";
import type { ChangeLogEntry, ChangeLogRepository, ChangeLogStream, StoreChange } from "../../src/store/store.js";
import { aKey } from "../support/records.js";

/** The change feed's rules, against an in-memory log: each entry applied once, changed keys refreshed, the cache cleared after a gap. */

/**
 * A key cache that records what it was told, in order: a dropped hash, "hash→key id" for a hash
 * refreshed with the key's new record, "CLEAR" for everything.
 */
function recordingCache() {
  const evicted: string[] = [];
  const keyCache = {
    refresh: (hashes: readonly string[], key: { id: string } | null) =>
      void evicted.push(...hashes.map((hash) => (key === null ? hash : `${hash}→${key.id}`))),
    evictOrganization: (id: string) => void evicted.push(`org:${id}`),
    clear: () => void evicted.push("CLEAR"),
  };
  return { evicted, keyCache };
}

function setup() {
  let now = 0;
  let failing = false;
  const log: (ChangeLogEntry & { atMs: number })[] = [];
  const changes: ChangeLogRepository = {
    async recent(windowMs: number) {
      if (failing) throw new Error("store down");
      return log.filter((entry) => entry.atMs >= now - windowMs);
    },
  };
  const { evicted, keyCache } = recordingCache();
  const feed = new ChangeFeed({ changes, keyCache, intervalMs: 1_000, windowMs: 10_000, logger: pino({ level: "silent" }), nowMs: () => now });
  return {
    feed,
    log,
    evicted,
    advance: (ms: number) => (now += ms),
    setFailing: (value: boolean) => (failing = value),
    remote: (change: StoreChange) => log.push({ id: `r${log.length}`, change, atMs: now }),
  };
}

describe("ChangeFeed", () => {
  it("applies every entry once, this replica's own too (a change it could not confirm reaches its cache only so)", async () => {
    const s = setup();
    s.remote({ kind: "key", hashes: ["h1", "h2"], key: null });
    s.remote({ kind: "organization", organizationId: "o2" });
    await s.feed.tick();
    await s.feed.tick();
    expect(s.evicted).toEqual(["h1", "h2", "org:o2"]);
  });

  it("a changed key's record replaces its entries: the cache is refreshed, not emptied", async () => {
    const s = setup();
    const key = aKey("org_1", { id: "key_changed" });
    s.remote({ kind: "key", hashes: ["before", key.secretHash], key });
    await s.feed.tick();
    expect(s.evicted).toEqual(["before→key_changed", `${key.secretHash}→key_changed`]);
  });

  it("after a read gap longer than half the window it drops the whole cache", async () => {
    const s = setup();
    await s.feed.tick();
    s.setFailing(true);
    s.advance(4_000);
    await s.feed.tick();
    s.setFailing(false);
    await s.feed.tick(); // 4 s since the last read: within the window
    expect(s.evicted).toEqual([]);
    s.setFailing(true);
    s.advance(6_000);
    await s.feed.tick();
    s.setFailing(false);
    await s.feed.tick(); // 6 s: entries may have slid out unseen
    expect(s.evicted).toEqual(["CLEAR"]);
  });
});

/** A change stream the test drives by hand: push entries into it, make it fail, see it closed. */
class HandStream implements ChangeLogStream {
  closed = false;
  readonly #queue: ChangeLogEntry[] = [];
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  push(entry: ChangeLogEntry): void {
    this.#queue.push(entry);
    this.#wake?.();
  }

  fail(failure: Error): void {
    this.#failure = failure;
    this.#wake?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChangeLogEntry> {
    while (true) {
      const entry = this.#queue.shift();
      if (entry !== undefined) {
        yield entry;
        continue;
      }
      // Like the driver's change stream: a failed or closed stream throws.
      if (this.#failure !== undefined) throw this.#failure;
      if (this.closed) throw new Error("stream closed");
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

const REOPEN_MS = 20;

/**
 * A feed over a log that also pushes entries: `opens` answers each watch() call in turn (a stream,
 * null for "cannot push", or an Error for a failed open). By default the poll interval is far
 * beyond any test, so whatever is applied came through the stream.
 */
function streamSetup(opens: (HandStream | null | Error)[], timing = { intervalMs: 60_000, reopenDelayMs: REOPEN_MS }) {
  const log: ChangeLogEntry[] = [];
  const calls = { watch: 0, recent: 0 };
  const changes: ChangeLogRepository = {
    async recent() {
      calls.recent += 1;
      return [...log];
    },
    async watch() {
      const next = calls.watch < opens.length ? opens[calls.watch]! : new Error("no more streams");
      calls.watch += 1;
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const { evicted, keyCache } = recordingCache();
  /** What the feed logged, as "level message". */
  const logged: string[] = [];
  const line = (level: string) => (first: unknown, message?: string) => void logged.push(`${level} ${message ?? String(first)}`);
  const logger = { warn: line("warn"), info: line("info") } as unknown as Pick<Logger, "warn" | "info">;
  const feed = new ChangeFeed({ changes, keyCache, ...timing, logger });
  return { feed, log, calls, evicted, logged };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("ChangeFeed over a change stream", () => {
  it("applies pushed entries at once, by the poll's rules: each once", async () => {
    const stream = new HandStream();
    const s = streamSetup([stream]);
    s.feed.start();
    await settle();
    stream.push({ id: "r1", change: { kind: "key", hashes: ["h1"], key: null } });
    stream.push({ id: "r2", change: { kind: "organization", organizationId: "o2" } });
    stream.push({ id: "r1", change: { kind: "key", hashes: ["h1"], key: null } });
    await settle();
    expect(s.evicted).toEqual(["h1", "org:o2"]);
    // The poll reads the same entry later: already applied, not again.
    s.log.push({ id: "r1", change: { kind: "key", hashes: ["h1"], key: null } });
    await s.feed.tick();
    expect(s.evicted).toEqual(["h1", "org:o2"]);
    await s.feed.close();
  });

  it("a stream that fails, or cannot be opened, is opened again and its entries applied", async () => {
    const first = new HandStream();
    const third = new HandStream();
    const s = streamSetup([first, new Error("store down"), third]);
    s.feed.start();
    await settle();
    first.fail(new Error("ChangeStreamHistoryLost"));
    await new Promise((resolve) => setTimeout(resolve, 4 * REOPEN_MS));
    expect(s.calls.watch).toBe(3);
    third.push({ id: "r1", change: { kind: "key", hashes: ["after"], key: null } });
    await settle();
    expect(s.evicted).toEqual(["after"]);
    await s.feed.close();
  });

  it("a stream that cannot be opened again and again is warned about once, and its reopening told once", async () => {
    const stream = new HandStream();
    const s = streamSetup([new Error("not authorized"), new Error("not authorized"), new Error("not authorized"), stream]);
    s.feed.start();
    await new Promise((resolve) => setTimeout(resolve, 8 * REOPEN_MS));
    expect(s.calls.watch).toBe(4);
    expect(s.logged.filter((line) => line.includes("change stream"))).toEqual([
      "warn change stream failed; the poll covers until it reopens",
      "info change stream reopened",
    ]);
    stream.fail(new Error("ChangeStreamHistoryLost"));
    await settle();
    expect(s.logged.filter((line) => line.startsWith("warn"))).toHaveLength(2); // a new streak, a new warning
    await s.feed.close();
  });

  it("a store that cannot push (null) is asked once, and the poll goes on alone", async () => {
    const s = streamSetup([null]);
    s.feed.start();
    await new Promise((resolve) => setTimeout(resolve, 4 * REOPEN_MS));
    expect(s.calls.watch).toBe(1);
    s.log.push({ id: "r1", change: { kind: "key", hashes: ["polled"], key: null } });
    await s.feed.tick();
    expect(s.evicted).toEqual(["polled"]);
    await s.feed.close();
  });

  it("close() closes the open stream, and neither the poll nor a reopen runs after it", async () => {
    const stream = new HandStream();
    const s = streamSetup([stream, new HandStream()], { intervalMs: 10, reopenDelayMs: REOPEN_MS });
    s.feed.start();
    await settle();
    await s.feed.close();
    expect(stream.closed).toBe(true);
    const before = { ...s.calls };
    await new Promise((resolve) => setTimeout(resolve, 4 * REOPEN_MS));
    expect(s.calls).toEqual(before);
  });

  it("close() during the wait before a reopen ends the wait at once: no reopen afterwards", async () => {
    const s = streamSetup([new Error("store down"), new HandStream()], { intervalMs: 60_000, reopenDelayMs: 60_000 });
    s.feed.start();
    await settle();
    const started = performance.now();
    await s.feed.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    await new Promise((resolve) => setTimeout(resolve, 4 * REOPEN_MS));
    expect(s.calls.watch).toBe(1);
  });
});
