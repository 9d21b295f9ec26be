import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding keygate's package.json, found from this module whether it runs from
 * `src/` (tests) or `dist/src/` (built), so both find the same `web/` sources and `dist/console`.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("keygate's package.json not found above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** keygate's version as its package.json says (keygate_build_info, the tracer's version). */
export function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: unknown };
  if (typeof version !== "string") throw new Error("keygate's package.json has no version");
  return version;
}
