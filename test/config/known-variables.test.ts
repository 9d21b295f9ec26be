import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KNOWN_VARIABLES, unknownVariables } from "../../src/config/known-variables.js";

/** Every KEYGATE_* name keygate reads is known, so a misspelt one is reported and a real one never is. */

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : [join(dir, entry.name)])));
  return nested.flat().filter((file) => file.endsWith(".ts"));
}

describe("the known KEYGATE_* variables", () => {
  it("include every KEYGATE_* name a source file quotes", async () => {
    const quoted = new Set<string>();
    for (const file of await sourceFiles(SRC)) {
      for (const match of (await readFile(file, "utf8")).matchAll(/["'`](KEYGATE_[A-Z0-9_]+)["'`]/g)) quoted.add(match[1]!);
    }
    expect(quoted.size).toBeGreaterThan(40);
    expect([...quoted].filter((name) => !KNOWN_VARIABLES.includes(name))).toEqual([]);
  });

  it("report a misspelt one with the nearest known name, and nothing else", () => {
    expect(
      unknownVariables({
        KEYGATE_PEPER: "a secret, never read",
        KEYGATE_DATA_PLANE_TOKN: "another",
        KEYGATE_PEPPER: "spelt right",
        KEYGATE_ADMIN_KEY: "the CLI's",
        PORT: "8080",
        keygate_pepper: "not ours: lower case",
      }),
    ).toEqual([
      { name: "KEYGATE_DATA_PLANE_TOKN", nearest: "KEYGATE_DATA_PLANE_TOKEN" },
      { name: "KEYGATE_PEPER", nearest: "KEYGATE_PEPPER" },
    ]);
  });
});
