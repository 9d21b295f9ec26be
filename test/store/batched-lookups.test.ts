import { describe, expect, it } from "vitest";
import { BatchedLookups } from "../../src/store/mongo/batched-lookups.js";

/** The batcher alone, on a load that records each batch it is asked for. */
function recorded(answer: (keys: string[]) => Promise<Map<string, { key: string }>>) {
  const batches: string[][] = [];
  const lookups = new BatchedLookups((keys) => {
    batches.push(keys);
    return answer(keys);
  }, { windowMs: 5, maxBatch: 3 });
  return { lookups, batches };
}

const echo = async (keys: string[]) => new Map(keys.filter((key) => key !== "missing").map((key) => [key, { key }]));

describe("batched lookups", () => {
  it("lookups made together go out as one batch, each caller answered for its own key", async () => {
    const { lookups, batches } = recorded(echo);
    const answers = await Promise.all(["a", "missing", "b"].map((key) => lookups.get(key)));
    expect(answers).toEqual([{ key: "a" }, null, { key: "b" }]);
    expect(batches).toEqual([["a", "missing", "b"]]);
  });

  it("a full batch goes out at once, and the rest in the next", async () => {
    const { lookups, batches } = recorded(echo);
    const answers = await Promise.all(["a", "b", "c", "d"].map((key) => lookups.get(key)));
    expect(answers.map((answer) => answer?.key)).toEqual(["a", "b", "c", "d"]);
    expect(batches).toEqual([["a", "b", "c"], ["d"]]);
  });

  it("callers asking for the same key share one place in the batch, each with its own copy", async () => {
    const { lookups, batches } = recorded(echo);
    const [first, second] = await Promise.all([lookups.get("a"), lookups.get("a")]);
    expect(batches).toEqual([["a"]]);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });

  it("a lookup on a quiet batcher goes out at the end of its turn, without waiting for the window", async () => {
    const batches: string[][] = [];
    const lookups = new BatchedLookups((keys) => {
      batches.push(keys);
      return echo(keys);
    }, { windowMs: 3_600_000, maxBatch: 100 });
    expect(await lookups.get("a")).toEqual({ key: "a" });
    expect(await Promise.all([lookups.get("b"), lookups.get("c")])).toEqual([{ key: "b" }, { key: "c" }]);
    expect(batches).toEqual([["a"], ["b", "c"]]);
  });

  it("while a query is in flight, later lookups gather into the next one", async () => {
    const batches: string[][] = [];
    let answerFirst: () => void = () => {};
    const lookups = new BatchedLookups(async (keys) => {
      batches.push(keys);
      if (batches.length === 1) await new Promise<void>((resolve) => (answerFirst = resolve));
      return echo(keys);
    }, { windowMs: 5, maxBatch: 100 });
    const first = lookups.get("a");
    await new Promise((resolve) => setImmediate(resolve));
    // Asked one after the other while "a" is out: one batch for both.
    const second = lookups.get("b");
    await Promise.resolve();
    const third = lookups.get("c");
    await expect.poll(() => batches.length).toBe(2);
    answerFirst();
    expect(await Promise.all([first, second, third])).toEqual([{ key: "a" }, { key: "b" }, { key: "c" }]);
    expect(batches).toEqual([["a"], ["b", "c"]]);
  });

  it("a failed load fails every caller of its batch, and the next batch is asked afresh", async () => {
    let fail = true;
    const { lookups, batches } = recorded(async (keys) => {
      if (fail) throw new Error("store down");
      return echo(keys);
    });
    const failed = await Promise.allSettled(["a", "b", "a"].map((key) => lookups.get(key)));
    expect(failed.map((outcome) => outcome.status)).toEqual(["rejected", "rejected", "rejected"]);
    fail = false;
    expect(await lookups.get("a")).toEqual({ key: "a" });
    expect(batches).toEqual([["a", "b"], ["a"]]);
  });

  it("a load that throws before its promise fails every caller too", async () => {
    const lookups = new BatchedLookups<string>(() => {
      throw new Error("bad query");
    });
    await expect(Promise.all([lookups.get("a"), lookups.get("b")])).rejects.toThrow("bad query");
  });
});
