import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import type { ExtraHandler } from "../server/http-server.js";
import { defaultConsoleDir } from "./package-root.js";

/**
 * Serves the built web console under /console/, and sends `GET /` there. The files are read
 * once into memory from the build folder; a request is answered only with a file of that list, looked up by exact name, so
 * no request path ever reaches the file system (`..`, encoded or not, is simply not a name).
 * Hashed bundles are cached for a year, index.html is revalidated (ETag) on every load.
 */

export const CONSOLE_PATH = "/console";

interface Asset {
  body: Buffer;
  headers: Record<string, string>;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** esbuild's `[name]-[hash]`: content-addressed, so never stale. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9.]+$/;

/** The console only talks to its own origin; nothing inline, nothing framed. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || contentType === undefined || entry.name.startsWith(".")) continue;
    const body = await readFile(join(dir, entry.name));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    const cacheControl = HASHED.test(entry.name) ? "public, max-age=31536000, immutable" : "no-cache";
    assets.set(entry.name, {
      body,
      etag,
      headers: { ...SECURITY_HEADERS, "content-type": contentType, "content-length": String(body.length), "cache-control": cacheControl, etag },
    });
  }
  if (!assets.has("index.html")) throw new Error(`${dir} has no index.html`);
  return assets;
}

interface PlainResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string | Buffer): unknown;
}

function sendText(res: PlainResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...SECURITY_HEADERS, ...extra });
  res.end(text);
}

export interface ConsoleHandlerOptions {
  /** The build folder; default dist/console in the package. */
  dir?: string;
}

export function consoleHandler(options: ConsoleHandlerOptions = {}): ExtraHandler {
  const dir = options.dir ?? defaultConsoleDir();
  let loading: Promise<Map<string, Asset>> | undefined;
  const assets = () => {
    loading ??= loadAssets(dir).catch((error: unknown) => {
      // Not built yet: try again on the next request, so a later `npm run build` is picked up.
      loading = undefined;
      throw error;
    });
    return loading;
  };

  return (req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
      // Someone who opens keygate's address in a browser wants the console, not a JSON 404.
      (res as unknown as PlainResponse).writeHead(302, { location: `${CONSOLE_PATH}/`, "cache-control": "no-store" });
      (res as unknown as PlainResponse).end();
      return true;
    }
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return false;
    const response = res as unknown as PlainResponse;
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(response, 405, "method not allowed\n", { allow: "GET, HEAD" });
      return true;
    }
    if (path === CONSOLE_PATH) {
      response.writeHead(308, { location: `${CONSOLE_PATH}/`, "cache-control": "no-store" });
      response.end();
      return true;
    }
    const name = path.slice(CONSOLE_PATH.length + 1) || "index.html";
    assets().then(
      (files) => {
        const asset = files.get(name);
        if (asset === undefined) return sendText(response, 404, "not found\n");
        if (req.headers["if-none-match"] === asset.etag) {
          response.writeHead(304, { etag: asset.etag, "cache-control": asset.headers["cache-control"]! });
          response.end();
          return;
        }
        response.writeHead(200, asset.headers);
        response.end(req.method === "HEAD" ? undefined : asset.body);
      },
      () => sendText(response, 503, "The keygate console is not built. Run `npm run build`, then reload.\n"),
    );
    return true;
  };
}
