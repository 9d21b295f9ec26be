import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
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

/** Replaces `target` with `staging`; the old build is removed after the swap. */
async function swapInto(staging: string, target: string): Promise<void> {
  const old = `${target}.old-${randomBytes(4).toString("hex")}`;
  await mkdir(dirname(target), { recursive: true });
  try {
    await rename(target, old);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await rename(staging, target);
  await rm(old, { recursive: true, force: true });
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
