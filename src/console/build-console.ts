import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultConsoleDir, packageRoot } from "./package-root.js";

/**
 * Bundles the web console (web/src/main.ts and the CSS it imports) with esbuild into content-hashed
 * files, and writes index.html naming them. Everything is built in a fresh folder that then takes
 * the place of the old one, so a server never serves half a build. esbuild is a build-time tool
 * (a dev dependency): only this module loads it, and only the build and the tests run it.
 */

export interface ConsoleBuild {
  outDir: string;
  /** Served file names, index.html first. */
  files: string[];
}

export async function buildConsole(outDir: string = defaultConsoleDir(), options: { minify?: boolean } = {}): Promise<ConsoleBuild> {
  const { build } = await import("esbuild");
  const root = packageRoot();
  const target = resolve(outDir);
  const staging = `${target}.staging-${randomBytes(4).toString("hex")}`;
  await mkdir(staging, { recursive: true });
  try {
    const result = await build({
      entryPoints: { app: join(root, "web", "src", "main.ts") },
      bundle: true,
      format: "esm",
      platform: "browser",
      target: ["es2022", "chrome111", "firefox111", "safari16"],
      outdir: staging,
      entryNames: "[name]-[hash]",
      assetNames: "[name]-[hash]",
      minify: options.minify ?? true,
      sourcemap: "linked",
      legalComments: "none",
      metafile: true,
      logLevel: "silent",
      tsconfig: join(root, "web", "tsconfig.json"),
    });
    const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
    const script = outputs.find((name) => name.endsWith(".js"));
    const style = outputs.find((name) => name.endsWith(".css"));
    if (!script || !style) throw new Error(`console build produced no script or stylesheet: ${outputs.join(", ")}`);
    const template = await readFile(join(root, "web", "index.html"), "utf8");
    const html = template.replaceAll("{{script}}", script).replaceAll("{{style}}", style);
    if (html.includes("{{")) throw new Error("web/index.html has a placeholder the build does not fill");
    await writeFile(join(staging, "index.html"), html);
    await swapInto(staging, target);
    return { outDir: target, files: ["index.html", ...outputs] };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Puts `staging` in the place of `target`. Several builds may run at once (test files that each
 * build the console the server serves start together): a build equal to the one already in place
 * leaves it there, so a server reading it never finds the folder gone; a different one moves the
 * old aside, and tries again should another build take the place in between.
 */
async function swapInto(staging: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const olds: string[] = [];
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await rename(staging, target);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if ((code !== "ENOTEMPTY" && code !== "EEXIST") || attempt === 5) throw error;
      }
      if (await sameFiles(staging, target)) {
        await rm(staging, { recursive: true, force: true });
        return;
      }
      const old = `${target}.old-${randomBytes(4).toString("hex")}`;
      try {
        await rename(target, old);
        olds.push(old);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
  } finally {
    for (const old of olds) await rm(old, { recursive: true, force: true });
  }
}

/** The same file names with the same bytes (a build is a flat folder); false when `b` moves away meanwhile. */
async function sameFiles(a: string, b: string): Promise<boolean> {
  try {
    const [left, right] = await Promise.all([readdir(a), readdir(b)]);
    if (left.length !== right.length || !left.every((name) => right.includes(name))) return false;
    for (const name of left) {
      const [x, y] = await Promise.all([readFile(join(a, name)), readFile(join(b, name))]);
      if (!x.equals(y)) return false;
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildConsole(process.argv[2]).then(
    ({ outDir, files }) => process.stdout.write(`console built into ${outDir}: ${files.join(", ")}\n`),
    (error: unknown) => {
      process.stderr.write(`console build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
