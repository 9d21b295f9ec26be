import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRoutes } from "../../src/config/route-rules.js";
import { DEFAULT_SCOPES } from "../../src/model/scopes.js";

/**
 * Every route table the README shows (its JSON blocks that are arrays of rules) is one keygate
 * takes as written, with the default scope catalog: an operator copies them into
 * KEYGATE_ROUTES_FILE, so a field renamed or a value out of bounds must fail here, not at their start.
 */

const README = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
const tables = [...README.matchAll(/```json\n([\s\S]*?)```/g)]
  .map(([, block]) => block!)
  .filter((block) => /^\s*\[\s*\{\s*"method"/.test(block));

describe("README's route tables", () => {
  it("shows some, metering ones among them", () => {
    expect(tables.length).toBeGreaterThanOrEqual(3);
    expect(tables.some((table) => table.includes('"costHeader"'))).toBe(true);
    expect(tables.some((table) => table.includes('"cost"'))).toBe(true);
  });

  it.each(tables.map((table, index) => [index, table]))("table %i loads as written", (_index, table) => {
    const rules = parseRoutes(JSON.parse(table as string), [...DEFAULT_SCOPES]);
    expect(rules.length).toBeGreaterThan(0);
  });
});
