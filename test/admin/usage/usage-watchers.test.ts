import { describe, expect, it } from "vitest";
import { ConnectError } from "@connectrpc/connect";
import { ManualClock } from "../../../src/time/clock.js";
import type { UsageRepository } from "../../../src/store/usage-repository.js";
import { emptyTally, type KeyDayUsage } from "../../../src/model/usage-tally.js";
import { UsageWatchers } from "../../../src/admin/usage/usage-watchers.js";

/** UsageWatchers alone: caps, and when the streams of a scope share a read of today's totals. */

const NOON = Date.UTC(2031, 2, 15, 12);

function countingUsage() {
  const reads: string[] = [];
  let failNext = false;
  const usage: Pick<UsageRepository, "days"> = {
    async days(organizationId, range, query) {
      reads.push(`${organizationId}/${query?.keyIds?.join(",") ?? "*"}@${range.from}`);
      if (failNext) {
        failNext = false;
        throw new Error("store down");
      }
      const tally = emptyTally();
      tally.outcomes.allowed = reads.length;
      return [{ organizationId, keyId: "key_a", day: range.from, lastUsedAtMs: null, tally } satisfies KeyDayUsage];
    },
  };
  return { usage, reads, failNextRead: () => (failNext = true) };
}

describe("UsageWatchers", () => {
  it("streams of one scope share a read until a flush writes to it, the read ages out, or the day changes", async () => {
    const clock = new ManualClock(NOON);
    const { usage, reads } = countingUsage();
    const watchers = new UsageWatchers({ usage, clock, maxStreamsPerKey: 10, maxStreamsPerOrganization: 10, maxAgeMs: 1_000 });
    const org = [watchers.open("key_caller", "org_1", ""), watchers.open("key_caller", "org_1", "")];
    const key = watchers.open("key_caller", "org_1", "key_a");
    await Promise.all([org[0]!.today(), org[1]!.today(), key.today(), org[0]!.today()]);
    expect(reads).toEqual(["org_1/*@2031-03-15", "org_1/key_a@2031-03-15"]);

    org[1]!.flushed();
    expect((await org[0]!.today()).outcomes.allowed).toBe(3);
    await key.today();
    expect(reads).toHaveLength(3); // the key's read still serves

    clock.advance(999);
    await key.today();
    expect(reads).toHaveLength(3);
    clock.advance(1);
    await key.today();
    expect(reads).toHaveLength(4);

    clock.set(Date.UTC(2031, 2, 16, 0, 0, 0, 500));
    await org[0]!.today();
    expect(reads.at(-1)).toBe("org_1/*@2031-03-16");
  });

  it("a failed read is not kept for later streams", async () => {
    const { usage, reads, failNextRead } = countingUsage();
    const watchers = new UsageWatchers({ usage, clock: new ManualClock(NOON), maxStreamsPerKey: 10, maxStreamsPerOrganization: 10, maxAgeMs: 60_000 });
    const watch = watchers.open("key_caller", "org_1", "");
    failNextRead();
    await expect(watch.today()).rejects.toThrow("store down");
    await watch.today();
    expect(reads).toHaveLength(2);
  });

  it("caps streams per caller key and per organization; closing (once) frees the place", () => {
    const { usage } = countingUsage();
    const watchers = new UsageWatchers({ usage, clock: new ManualClock(NOON), maxStreamsPerKey: 2, maxStreamsPerOrganization: 3, maxAgeMs: 1_000 });
    const first = watchers.open("key_a", "org_1", "");
    watchers.open("key_a", "org_1", "");
    expect(() => watchers.open("key_a", "org_1", "")).toThrow(ConnectError);
    watchers.open("key_b", "org_1", "");
    expect(() => watchers.open("key_c", "org_1", "")).toThrow(/per organization/);
    expect(watchers.open("key_c", "org_2", "")).toBeDefined();
    first.close();
    first.close();
    expect(() => watchers.open("key_c", "org_1", "")).not.toThrow();
    expect(() => watchers.open("key_a", "org_1", "")).toThrow(/per organization/);
  });
});
