import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { frozenInterner, stringInterner } from "../../src/store/memory/interner.js";

describe("Interner", () => {
  it("names equal values alike and keeps a value while any hold on it remains", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 2 }), { minLength: 1, maxLength: 20 }), (lists) => {
        const interner = frozenInterner<readonly string[]>((list) => Object.freeze([...list]));
        const held = lists.map((list) => interner.hold(list));
        lists.forEach((list, i) => {
          expect(interner.get(held[i]!)).toStrictEqual(list);
          expect(held[lists.findIndex((other) => JSON.stringify(other) === JSON.stringify(list))]).toBe(held[i]);
        });
        // Giving back all holds but the last one's leaves exactly that value.
        held.slice(0, -1).forEach((index) => interner.release(index));
        const last = lists.at(-1)!;
        expect(interner.size).toBe(1);
        expect(interner.get(held.at(-1)!)).toStrictEqual(last);
        interner.release(held.at(-1)!);
        expect(interner.size).toBe(0);
      }),
    );
  });

  it("gives a dropped value's index to the next new value", () => {
    const interner = stringInterner();
    const first = interner.hold("user_a");
    interner.release(first);
    const second = interner.hold("user_b");
    expect(second).toBe(first);
    expect(interner.get(second)).toBe("user_b");
  });

  it("keeps its own frozen copy, untouched by the caller's later changes", () => {
    const interner = frozenInterner<string[]>((list) => Object.freeze([...list]) as string[]);
    const scopes = ["machines:read"];
    const index = interner.hold(scopes);
    scopes.push("machines:write");
    expect(interner.get(index)).toStrictEqual(["machines:read"]);
    expect(Object.isFrozen(interner.get(index))).toBe(true);
  });
});
