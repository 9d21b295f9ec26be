import { describe, expect, it } from "vitest";
import { oneAtATime, type MemoryUnit } from "../../src/store/memory/one-at-a-time.js";
import { UnitOfWork, type Isolate } from "../../src/store/unit-of-work.js";

/** A unit of work's rules, without a store: effects wait for the commit, retries drop theirs, nested units join. */

/** An isolation that runs each unit up to `failures + 1` times, failing (as a lost race) the first `failures`. */
function retrying(failures: number): Isolate<number> {
  return async (attempt) => {
    for (let n = 0; ; n++) {
      const result = await attempt(n);
      if (n >= failures) return result;
    }
  };
}

describe("UnitOfWork", () => {
  it("runs effects once the unit has committed, in order; at once outside a unit", async () => {
    const units = new UnitOfWork(retrying(0));
    const seen: string[] = [];
    units.afterCommit(() => seen.push("outside"));
    const result = await units.atomically(async () => {
      units.afterCommit(() => seen.push("first"));
      units.afterCommit(() => seen.push("second"));
      seen.push("work done");
      return 42;
    });
    expect(result).toBe(42);
    expect(seen).toEqual(["outside", "work done", "first", "second"]);
  });

  it("drops the effects of attempts that did not commit", async () => {
    const units = new UnitOfWork(retrying(2));
    const seen: number[] = [];
    await units.atomically(async () => {
      const attempt = units.context()!;
      units.afterCommit(() => seen.push(attempt));
    });
    expect(seen).toEqual([2]);
  });

  it("runs no effect of a unit that failed", async () => {
    const units = new UnitOfWork(retrying(0));
    const seen: string[] = [];
    await expect(
      units.atomically(async () => {
        units.afterCommit(() => seen.push("effect"));
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    expect(seen).toEqual([]);
  });

  it("a unit inside a unit joins it: one attempt, effects after the outer commit", async () => {
    let attempts = 0;
    const units = new UnitOfWork<number>(async (attempt) => attempt(++attempts));
    const seen: string[] = [];
    await units.atomically(async () => {
      await units.atomically(async () => {
        expect(units.context()).toBe(1);
        units.afterCommit(() => seen.push("inner"));
      });
      seen.push("outer work");
    });
    expect(attempts).toBe(1);
    expect(seen).toEqual(["outer work", "inner"]);
  });
});

describe("the embedded store's units", () => {
  it("run one at a time, so two units never interleave, and a failed one does not stop the next", async () => {
    const units = new UnitOfWork<MemoryUnit>(oneAtATime());
    const trace: string[] = [];
    const unit = (name: string, fail = false) =>
      units.atomically(async () => {
        trace.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        trace.push(`${name} end`);
        if (fail) throw new Error(name);
      });
    const results = await Promise.allSettled([unit("a", true), unit("b"), unit("c")]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(trace).toEqual(["a start", "a end", "b start", "b end", "c start", "c end"]);
  });
});
