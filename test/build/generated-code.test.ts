import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const buf = join(root, "node_modules/.bin/buf");

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return out;
}

describe("generated code", () => {
  it("gen/ is exactly what buf generates from proto/ (run npm run generate)", () => {
    const out = mkdtempSync(join(tmpdir(), "keygate-gen-"));
    const template = readFileSync(join(root, "buf.gen.yaml"), "utf8").replace(/out: gen\b/, `out: ${out}`);
    const templatePath = join(out, "..", `${relative(tmpdir(), out)}.buf.gen.yaml`);
    writeFileSync(templatePath, template);
    execFileSync(buf, ["generate", "--template", templatePath], { cwd: root, stdio: "pipe" });
    const expected = files(out);
    const actual = files(join(root, "gen"));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, text] of expected) expect(actual.get(path), `gen/${path} is out of date`).toBe(text);
    // buf generates every file afresh: about 25 s on a quiet 2-core machine, longer on a busy one.
  }, 180_000);

  it("buf lint passes on proto/keygate", () => {
    expect(() => execFileSync(buf, ["lint"], { cwd: root, stdio: "pipe" })).not.toThrow();
  });
});
