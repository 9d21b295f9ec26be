import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsole } from "../../src/console/build-console.js";
import { consoleHandler } from "../../src/console/console-handler.js";

/**
 * Serving the built console: the real esbuild output, content types, cache headers, ETags, and
 * requests that try to leave the build folder. Uses a plain HTTP server around the handler.
 */

let dir: string;
let files: string[];
let base: string;
let server: http.Server;

async function listen(handler: ReturnType<typeof consoleHandler>): Promise<{ server: http.Server; base: string }> {
  const s = http.createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return { server: s, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

/** A raw request, so that `..` and encoded paths reach the server as written. */
function raw(path: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/`, { method, path }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keygate-console-"));
  const built = await buildConsole(join(dir, "console"));
  files = built.files;
  // A file beside the build that must never be served.
  await writeFile(join(dir, "secret.txt"), "outside the console");
  ({ server, base } = await listen(consoleHandler({ dir: built.outDir })));
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("the console's static files", () => {
  it("builds index.html naming content-hashed bundles, with no CDN or other origin in it", async () => {
    expect(files[0]).toBe("index.html");
    const script = files.find((f) => /^app-[A-Z0-9]{8}\.js$/.test(f));
    const style = files.find((f) => /^app-[A-Z0-9]{8}\.css$/.test(f));
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    const index = await fetch(`${base}/console/`);
    const html = await index.text();
    expect(html).toContain(`src="${script}"`);
    expect(html).toContain(`href="${style}"`);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("serves each file with its content type, security headers and the right caching", async () => {
    const index = await fetch(`${base}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(index.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(index.headers.get("x-content-type-options")).toBe("nosniff");
    const script = files.find((f) => f.endsWith(".js"))!;
    const js = await fetch(`${base}/console/${script}`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const css = await fetch(`${base}/console/${files.find((f) => f.endsWith(".css"))!}`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");

    const again = await fetch(`${base}/console/${script}`, { headers: { "if-none-match": js.headers.get("etag")! } });
    expect(again.status).toBe(304);
    const head = await fetch(`${base}/console/index.html`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("redirects /console to /console/ and leaves other paths to the next handler", async () => {
    const bare = await fetch(`${base}/console`, { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("/console/");
    expect((await fetch(`${base}/consoleX`)).status).toBe(418);
    expect((await fetch(`${base}/metrics`)).status).toBe(418);
  });

  it.each([
    "/console/../secret.txt",
    "/console/..%2fsecret.txt",
    "/console/%2e%2e/secret.txt",
    "/console/%2e%2e%2fsecret.txt",
    "/console/..\\secret.txt",
    "/console//etc/passwd",
    "/console/./index.html/../../secret.txt",
    "/console/index.html%00.js",
    "/console/.hidden",
    "/console/nope.js",
  ])("refuses %s", async (path) => {
    const response = await raw(path);
    expect(response.status).toBe(404);
    expect(response.body).not.toContain("outside the console");
  });

  it("answers only GET and HEAD", async () => {
    expect((await raw("/console/", "POST")).status).toBe(405);
    expect((await raw("/console/index.html", "DELETE")).status).toBe(405);
  });

  it("says how to build when the console is not built, and picks the build up once it exists", async () => {
    const missing = join(dir, "later");
    const { server: s, base: b } = await listen(consoleHandler({ dir: missing }));
    try {
      const before = await fetch(`${b}/console/`);
      expect(before.status).toBe(503);
      expect(await before.text()).toContain("npm run build");
      await buildConsole(missing);
      expect((await fetch(`${b}/console/`)).status).toBe(200);
    } finally {
      await new Promise((resolve) => s.close(resolve));
    }
  }, 60_000);
});
