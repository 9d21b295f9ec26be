import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** Small files that each do one thing: none of keygate's own sources (gen/ is generated) runs past 400 lines. */

const ROOT = resolve(import.meta.dirname, "../..");
const MAX_LINES = 400;
const SOURCES = ["src", "test", "bench", "web/src"];

function* typescriptFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typescriptFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

describe("source files", () => {
  it(`are at most ${MAX_LINES} lines each`, () => {
    const files = SOURCES.flatMap((dir) => [...typescriptFiles(join(ROOT, dir))]);
    expect(files.length).toBeGreaterThan(100);
    const tooLong = files
      .map((file) => ({ file: relative(ROOT, file), lines: readFileSync(file, "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(tooLong).toEqual([]);
  });
});
