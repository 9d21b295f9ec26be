import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codeOf, RowsByCode } from "../../src/store/memory/rows-by-code.js";

/** Two different strings with the same code, found by trying (30-bit codes collide within ~100,000 strings). */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const text = `hash-${i}`;
    const other = seen.get(codeOf(text));
    if (other !== undefined) return [other, text];
    seen.set(codeOf(text), text);
  }
}

describe("RowsByCode", () => {
  it("finds each row by its own string, also when two strings share a code, and forgets deleted ones", () => {
    const [first, second] = collidingPair();
    expect(codeOf(first)).toBe(codeOf(second));
    const texts = new Map([
      [1, first],
      [2, second],
      [3, "another"],
    ]);
    const has = (text: string) => (row: number) => texts.get(row) === text;
    const index = new RowsByCode();
    for (const [row, text] of texts) index.add(text, row);
    expect(index.find(first, has(first))).toBe(1);
    expect(index.find(second, has(second))).toBe(2);
    expect(index.find("another", has("another"))).toBe(3);
    expect(index.find("missing", has("missing"))).toBeUndefined();

    index.delete(first, 1);
    texts.delete(1);
    expect(index.find(first, has(first))).toBeUndefined();
    expect(index.find(second, has(second))).toBe(2);
    index.delete(second, 2);
    expect(index.find(second, has(second))).toBeUndefined();
  });

  it("still finds an entry that had to probe past its home once the entry at its home is deleted", () => {
    // Two texts whose codes pick the same slot of the first table (1,024 slots).
    const byHome = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const text = `k${i}`;
      const other = byHome.get(codeOf(text) & 1023);
      if (other !== undefined) pair = [other, text];
      else byHome.set(codeOf(text) & 1023, text);
    }
    const [first, second] = pair;
    const index = new RowsByCode();
    index.add(first, 1);
    index.add(second, 2);
    index.delete(first, 1);
    expect(index.find(second, (row) => row === 2)).toBe(2);
    expect(index.find(first, (row) => row === 1)).toBeUndefined();
  });

  it("agrees with a Map through any sequence of additions and deletions, across growth and wrapped runs", () => {
    // Few distinct texts and many operations: long probe runs, deletions in the middle of them, regrowth.
    const text = fc.noBias(fc.integer({ min: 0, max: 3000 })).map((i) => `t${i}`);
    const operation = fc.oneof(
      fc.record({ add: fc.constant(true as const), texts: fc.array(text, { minLength: 1, maxLength: 400, size: "max" }) }),
      fc.record({ add: fc.constant(false as const), texts: fc.array(text, { minLength: 1, maxLength: 400, size: "max" }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { minLength: 1, maxLength: 12 }), (operations) => {
        const index = new RowsByCode();
        const model = new Map<string, number>();
        const textOfRow = new Map<number, string>();
        let nextRow = 0;
        for (const { add, texts } of operations) {
          for (const t of texts) {
            if (add && !model.has(t)) {
              model.set(t, nextRow);
              textOfRow.set(nextRow, t);
              index.add(t, nextRow++);
            } else if (!add && model.has(t)) {
              index.delete(t, model.get(t)!);
              textOfRow.delete(model.get(t)!);
              model.delete(t);
            }
          }
        }
        for (let i = 0; i <= 3000; i++) {
          const t = `t${i}`;
          expect(index.find(t, (row) => textOfRow.get(row) === t)).toBe(model.get(t));
        }
      }),
      { numRuns: 30 },
    );
  });
});
