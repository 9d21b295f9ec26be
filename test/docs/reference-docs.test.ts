import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { describe, expect, it } from "vitest";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import { CODE_OF_REASON } from "../../src/admin/errors.js";
import { runCli } from "../../src/cli/main.js";
import { packageRoot } from "../../src/console/package-root.js";
import { DENIAL_CODES, DENIALS } from "../../src/model/denials.js";
import { capture } from "../cli/capture.js";

/**
 * The reference pages a user reads on GitHub are complete and self-contained: every RPC, every
 * error reason with its code, every Check denial with its status; every link resolves inside the
 * repository; and the README's `keygate` commands are ones the CLI takes, spelt as a clone runs them.
 */

const ROOT = packageRoot();
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];

/** The cells of the table row whose first cell holds `first`. */
function row(markdown: string, first: string): string[] | undefined {
  const line = markdown.split("\n").find((l) => l.startsWith("|") && l.split("|")[1]!.includes(first));
  return line?.split("|").slice(1, -1).map((cell) => cell.trim());
}

describe("docs/api.md", () => {
  const api = read("docs/api.md");
  it.each([...KeyAdminService.methods, ...OperatorService.methods].map((method) => [method.parent.name, method.name]))("%s.%s has its row", (_service, name) => {
    expect(row(api, `\`${name}\``), name).toBeDefined();
  });
});

describe("docs/errors.md", () => {
  const errors = read("docs/errors.md");
  it.each(Object.entries(CODE_OF_REASON))("%s is listed with its code", (reason, code) => {
    const rows = errors.split("\n").filter((line) => line.startsWith(`| \`${reason}\` |`));
    expect(rows.length, reason).toBeGreaterThan(0);
    expect(rows.some((line) => line.includes(`| \`${codeToString(code)}\` (${code}) |`)), reason).toBe(true);
  });
});

describe("docs/check.md", () => {
  const check = read("docs/check.md");
  it.each(DENIAL_CODES.map((code) => [code]))("%s is listed with its HTTP status and message", (code) => {
    const denial = DENIALS[code];
    const cells = check.split("\n").filter((line) => line.startsWith("|") && line.includes(`| \`${code}\` |`));
    expect(cells.some((line) => line.includes(`| ${denial.httpStatus} |`)), code).toBe(true);
    const message = denial.message.replace("<key>", "&lt;key&gt;");
    expect(cells.some((line) => line.includes(message)), code).toBe(true);
  });
});

describe("README and docs/", () => {
  it.each(DOCS.map((doc) => [doc]))("%s links only to files of the repository, and each exists", (doc) => {
    const text = read(doc);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target!)) continue;
      const path = resolve(dirname(join(ROOT, doc)), target!.split("#")[0]!);
      expect(path.startsWith(ROOT), `${doc} → ${target}`).toBe(true);
      expect(existsSync(path), `${doc} → ${target}`).toBe(true);
    }
  });

  it.each(["README.md", "docs/api.md", "docs/errors.md", "docs/check.md"].map((doc) => [doc]))("%s speaks of no machine or folder outside the repository", (doc) => {
    expect(read(doc)).not.toMatch(/\.\.\/shared\/|offline machine|this machine/);
  });

  it("spells the README's keygate commands as a clone runs them, and the CLI takes each", async () => {
    const readme = read("README.md");
    const shell = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, block]) => block!).join("\n");
    // keygate in the command position (after any VAR=value assignments), bare or through npx.
    const commands = shell.split("\n").filter((line) => /^\s*(?:[A-Z_]+=\S+\s+)*(?:npx\s+)?keygate\s/.test(line));
    expect(commands.length).toBeGreaterThan(3);
    for (const line of commands) {
      expect(line, "a clone has no keygate on PATH: npx keygate").toMatch(/npx keygate /);
      const args = line.slice(line.indexOf("npx keygate ") + "npx keygate ".length).replace(/\s+#.*$/, "").replace(/\\$/, "");
      // Each command and its options as written, checked by the CLI's own parser (--help: no call).
      const words = [...args.matchAll(/"[^"]*"|'[^']*'|\S+/g)].map(([word]) => word.replace(/^["']|["']$/g, ""));
      const { io, err } = capture();
      expect(await runCli([...words, "--help"], io), `${line}\n${err()}`).toBe(0);
    }
  });
});
