import { MongoClient, type ServerDescriptionChangedEvent } from "mongodb";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChangeFeed } from "../../src/cache/change-feed.js";
import { MongoChangeLogRepository } from "../../src/store/mongo/change-log-repository.js";
import type { ChangeLogEntry, ChangeLogRepository } from "../../src/store/store.js";

/**
 * The change feed through an election: a poll stuck on a primary that stopped answering does not
 * hold the feed back, and a new primary makes it poll briskly until what the old one acknowledged
 * is readable again. Fake timers; the store is a hand-driven log.
 */

interface Read {
  answer: (entries: ChangeLogEntry[]) => void;
}

/** A log whose reads the test answers by hand (or leaves hanging), with the new-primary hook. */
function handLog() {
  const reads: Read[] = [];
  let newPrimary: (() => void) | undefined;
  let unsubscribed = false;
  const changes: ChangeLogRepository = {
    recent: () => new Promise<ChangeLogEntry[]>((resolve) => reads.push({ answer: resolve })),
    onNewPrimary(listener) {
      newPrimary = listener;
      return () => void (unsubscribed = true);
    },
  };
  const applied: string[] = [];
  const keyCache = {
    refresh: (hashes: readonly string[]) => void applied.push(...hashes),
    evictOrganization: () => {},
    clear: () => void applied.push("CLEAR"),
  };
  const feed = new ChangeFeed({ changes, keyCache, intervalMs: 1_000, windowMs: 10_000, logger: pino({ level: "silent" }), nowMs: () => Date.now() });
  return { feed, reads, applied, electNewPrimary: () => newPrimary!(), unsubscribed: () => unsubscribed };
}

const revoked = (hash: string): ChangeLogEntry[] => [{ id: hash, change: { kind: "key", hashes: [hash], key: null } }];

afterEach(() => {
  vi.useRealTimers();
});

describe("ChangeFeed through an election", () => {
  it("a poll that hangs holds the next back for half an interval, no longer", async () => {
    vi.useFakeTimers();
    const s = handLog();
    void s.feed.tick(); // hangs: its member stopped answering
    void s.feed.tick();
    expect(s.reads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(600);
    const next = s.feed.tick();
    expect(s.reads).toHaveLength(2);
    s.reads[1]!.answer(revoked("h1"));
    await next;
    expect(s.applied).toEqual(["h1"]);
  });

  it("no more than four polls hang at once", async () => {
    vi.useFakeTimers();
    const s = handLog();
    for (let i = 0; i < 10; i += 1) {
      void s.feed.tick();
      await vi.advanceTimersByTimeAsync(600);
    }
    expect(s.reads).toHaveLength(4);
    s.reads[0]!.answer([]);
    await vi.advanceTimersByTimeAsync(600);
    void s.feed.tick();
    expect(s.reads).toHaveLength(5);
  });

  it("an older poll answering after a newer one does not count as a gap in reading", async () => {
    vi.useFakeTimers();
    const s = handLog();
    void s.feed.tick();
    await vi.advanceTimersByTimeAsync(600);
    void s.feed.tick();
    s.reads[1]!.answer([]);
    await vi.advanceTimersByTimeAsync(6_000); // the first poll answers long after the second read
    s.reads[0]!.answer(revoked("late"));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.applied).toEqual(["late"]);
  });

  it("a new primary: it polls at once, then every tenth of an interval for 5 s, then at its interval again", async () => {
    vi.useFakeTimers();
    const s = handLog();
    s.feed.start();
    const answerAll = () => s.reads.forEach((read) => read.answer([]));
    await vi.advanceTimersByTimeAsync(2_000);
    answerAll();
    expect(s.reads).toHaveLength(2);
    s.electNewPrimary();
    expect(s.reads).toHaveLength(3); // at once, though the last poll began moments ago
    for (let ms = 0; ms < 1_000; ms += 100) {
      answerAll();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(s.reads.length).toBeGreaterThanOrEqual(12);
    // The entry the new primary makes readable a moment later is applied within 100 ms.
    const before = s.reads.length;
    await vi.advanceTimersByTimeAsync(100);
    s.reads.slice(before).forEach((read) => read.answer(revoked("revoked-before-the-election")));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.applied).toEqual(["revoked-before-the-election"]);
    for (let ms = 0; ms < 5_000; ms += 100) {
      answerAll();
      await vi.advanceTimersByTimeAsync(100);
    }
    const settled = s.reads.length;
    for (let ms = 0; ms < 3_000; ms += 100) {
      answerAll();
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(s.reads.length - settled).toBe(3);
    await s.feed.close();
    expect(s.unsubscribed()).toBe(true);
  });
});

describe("MongoChangeLogRepository.onNewPrimary", () => {
  it("tells of a member the driver now sees as primary, and nothing else", async () => {
    const client = new MongoClient("mongodb://127.0.0.1:1", { serverSelectionTimeoutMS: 1 });
    const db = client.db("keygate_unit");
    const log = new MongoChangeLogRepository(db.collection("key_changes"), db, 1_000);
    let told = 0;
    const stop = log.onNewPrimary(() => (told += 1));
    // The driver's event as it emits it; only the types of the descriptions matter here.
    const changed = (from: string, to: string) =>
      client.emit("serverDescriptionChanged", {
        address: "m2:27017",
        previousDescription: { type: from },
        newDescription: { type: to },
      } as unknown as ServerDescriptionChangedEvent);
    const primary = "RSPrimary";
    const secondary = "RSSecondary";
    changed(secondary, primary);
    changed(primary, primary); // a heartbeat of the same primary
    changed(primary, secondary); // a step-down
    expect(told).toBe(1);
    stop();
    changed(secondary, primary);
    expect(told).toBe(1);
    await client.close();
  });
});
