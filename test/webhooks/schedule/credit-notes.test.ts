import { describe, expect, it } from "vitest";
import type { CreditLine } from "../../../src/limits/credit-lines.js";
import { CreditNotes } from "../../../src/webhooks/schedule/credit-notes.js";

/** What Check notes of credit balances for key.credits_low: the latest balance per bucket, bounded, fired buckets skipped. */

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const KEY = { id: "key_1", organizationId: "org_A" };
const line = (bucket: string, fields: Partial<CreditLine> = {}): CreditLine => ({ owner: "key", bucket, startMs: T0, endMs: T0 + 3_600_000, limit: 100, ...fields });

describe("CreditNotes", () => {
  it("keeps the latest balance seen of each bucket, and by which key", () => {
    const notes = new CreditNotes();
    notes.creditSeen(KEY, line("b1"), 50);
    notes.creditSeen({ id: "key_2", organizationId: "org_A" }, line("b1"), 49);
    notes.creditSeen(KEY, line("b2"), 7);
    expect(notes.take(T0).map(({ bucket, keyId, left, identityId }) => ({ bucket, keyId, left, identityId }))).toEqual([
      { bucket: "b1", keyId: "key_2", left: 49, identityId: null },
      { bucket: "b2", keyId: "key_1", left: 7, identityId: null },
    ]);
    expect(notes.take(T0)).toEqual([]);
  });

  it("names the identity of an identity's balance, never of a key's own", () => {
    const notes = new CreditNotes();
    const key = { ...KEY, identityId: "idt_1" };
    notes.creditSeen(key, line("own"), 5);
    notes.creditSeen(key, line("shared", { owner: "identity" }), 5);
    expect(notes.take(T0).map(({ owner, identityId }) => ({ owner, identityId }))).toEqual([
      { owner: "key", identityId: null },
      { owner: "identity", identityId: "idt_1" },
    ]);
  });

  it("holds at most maxBuckets, counting the buckets it had no room for", () => {
    const notes = new CreditNotes({ maxBuckets: 2 });
    for (const bucket of ["b1", "b2", "b3", "b4"]) notes.creditSeen(KEY, line(bucket), 1);
    // A bucket already noted is still updated when full.
    notes.creditSeen(KEY, line("b1"), 0);
    expect(notes.take(T0).map(({ bucket, left }) => [bucket, left])).toEqual([["b1", 0], ["b2", 1]]);
    expect(notes.takeDropped()).toBe(2);
    expect(notes.takeDropped()).toBe(0);
  });

  it("skips a fired bucket until its window ends, and forgets what was not low so the next Check notes it again", () => {
    const notes = new CreditNotes();
    notes.creditSeen(KEY, line("low"), 3);
    notes.creditSeen(KEY, line("high"), 90);
    const [low, high] = notes.take(T0);
    notes.fired(low!, T0);
    notes.forget(high!);
    notes.creditSeen(KEY, line("low"), 2);
    notes.creditSeen(KEY, line("high"), 80);
    expect(notes.take(T0).map(({ bucket, left }) => [bucket, left])).toEqual([["high", 80]]);
    // Past its window, the fired bucket is forgotten: noted again, it is judged again.
    expect(notes.take(T0 + 3_600_000)).toEqual([]);
    notes.creditSeen(KEY, line("low"), 1);
    expect(notes.take(T0 + 3_600_000).map(({ bucket }) => bucket)).toEqual(["low"]);
  });

  it("when full, a new bucket takes the room of the oldest fired one, so fired buckets never keep balances out", () => {
    const notes = new CreditNotes({ maxBuckets: 2 });
    notes.creditSeen(KEY, line("first"), 1);
    notes.creditSeen(KEY, line("second"), 1);
    const [first, second] = notes.take(T0);
    notes.fired(first!, T0);
    notes.fired(second!, T0);
    notes.creditSeen({ id: "key_B", organizationId: "org_B" }, line("other"), 5);
    expect(notes.takeDropped()).toBe(0);
    expect(notes.take(T0).map(({ bucket, organizationId }) => [bucket, organizationId])).toEqual([["other", "org_B"]]);
    // The oldest fired bucket went; the other is still skipped, until the next new bucket needs its room.
    notes.creditSeen(KEY, line("second"), 0);
    expect(notes.take(T0)).toEqual([]);
    notes.creditSeen(KEY, line("first"), 0);
    expect(notes.take(T0).map(({ bucket }) => bucket)).toEqual(["first"]);
    // No fired bucket is left to give room: a new one is dropped.
    notes.creditSeen(KEY, line("third"), 0);
    expect(notes.takeDropped()).toBe(1);
  });

  it("forgets a fired balance that never refills after rememberFiredMs", () => {
    const notes = new CreditNotes({ rememberFiredMs: 60_000 });
    const unending = line("unending", { endMs: null });
    notes.creditSeen(KEY, unending, 0);
    notes.fired(notes.take(T0)[0]!, T0);
    notes.creditSeen(KEY, unending, 0);
    expect(notes.take(T0 + 59_999)).toEqual([]);
    notes.take(T0 + 60_000);
    notes.creditSeen(KEY, unending, 0);
    expect(notes.take(T0 + 60_000).map(({ bucket }) => bucket)).toEqual(["unending"]);
  });

  it("notes a bucket seen while taken afresh, which neither forget nor untake of the taken note undoes", () => {
    const notes = new CreditNotes();
    notes.creditSeen(KEY, line("b"), 50);
    const [taken] = notes.take(T0);
    notes.creditSeen(KEY, line("b"), 4);
    expect(taken!.left).toBe(50);
    notes.forget(taken!);
    notes.untake(taken!);
    expect(notes.take(T0).map(({ left }) => left)).toEqual([4]);
  });

  it("offers an untaken note again", () => {
    const notes = new CreditNotes();
    notes.creditSeen(KEY, line("b"), 5);
    const [taken] = notes.take(T0);
    notes.untake(taken!);
    expect(notes.take(T0)).toEqual([taken]);
  });
});
