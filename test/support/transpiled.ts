import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * keygate's sources transpiled with esbuild (the type check is tsc's job) into a folder of dist/,
 * so that a test can run a real process (`node …/src/main.js`, `node …/src/cli/main.js`) the way
 * the build runs; the modules resolve the project's node_modules like the real build. It takes
 * well under a second, where `tsc` would take many.
 */
export interface TranspiledSources {
  /** The folder holding src/ and gen/ as JavaScript. */
  dir: string;
  remove(): Promise<void>;
}

const root = fileURLToPath(new URL("../..", import.meta.url));

export async function transpiledSources(label: string): Promise<TranspiledSources> {
  const dir = join(root, "dist", `${label}-${randomBytes(4).toString("hex")}`);
  const { build } = await import("esbuild");
  await build({
    absWorkingDir: root,
    entryPoints: ["src/**/*.ts", "gen/**/*.ts"],
    outbase: ".",
    outdir: dir,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    logLevel: "silent",
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
