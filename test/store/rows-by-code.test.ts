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
});
