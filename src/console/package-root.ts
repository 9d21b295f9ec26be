import { existsSync } from "node:fs";
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

/** Where `npm run build` puts the console and where the server serves it from by default. */
export const defaultConsoleDir = (): string => join(packageRoot(), "dist", "console");
