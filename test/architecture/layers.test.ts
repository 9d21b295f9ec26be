import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The layer rules themselves (.dependency-cruiser.cjs), tested on a small tree that breaks each
 * one: `npm test` runs the linter on the real tree, and this proves the linter would say so if
 * the real tree broke a rule. A config that silently matched nothing would pass the real tree.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const CONFIG = join(ROOT, ".dependency-cruiser.cjs");
const CLI = join(ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");
const run = promisify(execFile);

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

const FIXTURE: Record<string, string> = {
  "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true } }),
  // An upward import (model is below admin).
  "src/model/record.ts": `import { handler } from "../admin/handler.js";\nexport const record = handler;\n`,
  // A type-only upward import counts too.
  "src/time/clock.ts": `import type { Cache } from "../cache/cache.js";\nexport type Clocked = Cache;\n`,
  "src/cache/cache.ts": `export interface Cache { size: number }\n`,
  // A capability importing a composition root.
  "src/authz/check.ts": `import { app } from "../app.js";\nexport const check = app;\n`,
  "src/app.ts": `export const app = 1;\n`,
  // A file at the top of src/ that is not a composition root.
  "src/helpers.ts": `import { handler } from "./admin/handler.js";\nexport const helper = handler;\n`,
  // A folder nobody placed in a layer.
  "src/admin/handler.ts": `import { widget } from "../widgets/widget.js";\nexport const handler = widget;\n`,
  "src/widgets/widget.ts": `export const widget = 2;\n`,
  // Two files of one folder importing each other.
  "src/store/a.ts": `import { b } from "./b.js";\nexport const a = () => b;\n`,
  "src/store/b.ts": `import { a } from "./a.js";\nexport const b = () => a;\n`,
  // Production code reaching into the tests.
  "src/usage/recorder.ts": `import { helper } from "../../test/helper.js";\nexport const recorder = helper;\n`,
  "test/helper.ts": `export const helper = 3;\n`,
  // A cycle in the console's browser code.
  "web/src/x.ts": `import { y } from "./y.js";\nexport const x = () => y;\n`,
  "web/src/y.ts": `import { x } from "./x.js";\nexport const y = () => x;\n`,
  // The console's browser code may share only src/model/ and src/time/.
  "web/src/page.ts": `import { handler } from "../../src/admin/handler.js";\nimport { record } from "../../src/model/record.js";\nexport const page = [handler, record];\n`,
  // Allowed: downward imports and gen/.
  "src/admin/allowed.ts": `import { record } from "../model/record.js";\nimport { Cache } from "../cache/cache.js";\nexport type Allowed = [typeof record, Cache];\n`,
};

let fixture: string;
let violations: Violation[];

beforeAll(async () => {
  fixture = mkdtempSync(join(tmpdir(), "keygate-layers-"));
  for (const [path, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  }
  // depcruise exits non-zero when it finds violations; the JSON report is what we read.
  const output = await run(process.execPath, [CLI, "src", "web/src", "--config", CONFIG, "--output-type", "json"], { cwd: fixture }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }),
  );
  violations = (JSON.parse(output.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}, 60_000);

afterAll(() => rmSync(fixture, { recursive: true, force: true }));

const found = (rule: string) => violations.filter((v) => v.rule.name === rule).map((v) => `${v.from} → ${v.to}`);

describe("the dependency linter's rules", () => {
  it("refuses an import up the layer order, type-only imports included", () => {
    expect(found("no-upward-from-model")).toEqual(["src/model/record.ts → src/admin/handler.ts"]);
    expect(found("no-upward-from-time")).toEqual(["src/time/clock.ts → src/cache/cache.ts"]);
  });

  it("refuses an import of a composition root from any folder", () => {
    expect(found("no-upward-from-authz")).toEqual(["src/authz/check.ts → src/app.ts"]);
  });

  it("refuses a folder that has no place in the layers", () => {
    expect(found("unlayered-folder")).toEqual(["src/admin/handler.ts → src/widgets/widget.ts"]);
  });

  it("refuses a file at the top of src/ other than the composition roots", () => {
    expect(found("only-the-roots-at-the-top")).toEqual(["src/helpers.ts → src/admin/handler.ts"]);
  });

  it("refuses a cycle between files, in src/ and in the console's browser code", () => {
    // Each cycle is reported once, from whichever of its files the linter reached first.
    const cycles = found("no-circular");
    expect(cycles).toHaveLength(2);
    expect(cycles.filter((c) => ["src/store/a.ts → src/store/b.ts", "src/store/b.ts → src/store/a.ts"].includes(c))).toHaveLength(1);
    expect(cycles.filter((c) => ["web/src/x.ts → web/src/y.ts", "web/src/y.ts → web/src/x.ts"].includes(c))).toHaveLength(1);
  });

  it("refuses production code importing tests, and browser code importing more than the vocabulary", () => {
    expect(found("src-not-to-tests")).toEqual(["src/usage/recorder.ts → test/helper.ts"]);
    expect(found("console-browser-code-uses-only-vocabulary")).toEqual(["web/src/page.ts → src/admin/handler.ts"]);
  });

  it("lets downward imports through", () => {
    expect(violations.filter((v) => v.from === "src/admin/allowed.ts")).toEqual([]);
  });
});

describe("the layers of the real tree", () => {
  const require = createRequire(import.meta.url);
  const config = require(CONFIG) as { forbidden: { name: string }[] };
  const folders = readdirSync(join(ROOT, "src"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  const architecture = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");

  it("has nothing directly under src/ but the composition roots", () => {
    const topFiles = readdirSync(join(ROOT, "src"), { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
    expect(topFiles.sort()).toEqual(["app.ts", "main.ts"]);
  });

  it.each(folders)("src/%s/ has a layer in the linter and in docs/architecture.md", (folder) => {
    expect(config.forbidden.map((rule) => rule.name)).toContain(`no-upward-from-${folder}`);
    expect(architecture).toContain(`\`${folder}/\``);
  });
});
