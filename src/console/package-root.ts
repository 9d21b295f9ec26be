import { join } from "node:path";
import { packageRoot } from "../config/package-root.js";

export { packageRoot };

/** Where `npm run build` puts the console and where the server serves it from by default. */
export const defaultConsoleDir = (): string => join(packageRoot(), "dist", "console");
