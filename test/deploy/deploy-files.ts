import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect } from "vitest";
import { parseAllDocuments } from "yaml";
import { packageRoot } from "../../src/console/package-root.js";

/**
 * Every YAML and JSON file under deploy/, parsed once, for the tests that check them: by path
 * relative to deploy/, each file's documents (a YAML file may hold several).
 */

/** Parsed manifests are checked field by field, so they are read loosely. */
export type Doc = Record<string, any>;

export const DEPLOY = join(packageRoot(), "deploy");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : /\.(ya?ml|json)$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

export const files = filesUnder(DEPLOY);
export const documents = new Map<string, Doc[]>(
  files.map((file) => {
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".json")) return [relative(DEPLOY, file), [JSON.parse(text) as Doc]];
    return [relative(DEPLOY, file), parseAllDocuments(text).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      return doc.toJS() as Doc;
    })];
  }),
);
export const all = [...documents.values()].flat();

export const kind = (k: string) => all.filter((d) => d.kind === k);
export const one = (k: string, name?: string): Doc => {
  const found = kind(k).filter((d) => name === undefined || d.metadata?.name === name);
  expect(found, `${k} ${name ?? ""}`).toHaveLength(1);
  return found[0]!;
};

/** The one document of a file under deploy/ (its path relative to deploy/). */
export const fileDoc = (path: string): Doc => {
  const docs = documents.get(path);
  expect(docs, path).toHaveLength(1);
  return docs![0]!;
};

/** Every object in a parsed document, depth first. */
export function* walk(value: unknown): Generator<Doc> {
  if (Array.isArray(value)) for (const item of value) yield* walk(item);
  else if (value !== null && typeof value === "object") {
    yield value as Doc;
    for (const child of Object.values(value)) yield* walk(child);
  }
}
