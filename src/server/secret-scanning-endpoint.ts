import type { IncomingMessage, ServerResponse } from "node:http";
import type http2 from "node:http2";
import { PerSourceAndTotal } from "../abuse/per-source-and-total.js";
import { ipSource } from "../abuse/sliding-counters.js";
import { clientAddress, type TrustedProxies } from "../net/client-address.js";
import { AllowList } from "../net/ip-allow-list.js";
import type { BodyBudget } from "./body-budget.js";
import type { ExtraHandler } from "./http-server.js";
import { connectionOf, reset, stopReading } from "./rpc-adapter.js";
import { MAX_REPORT_BYTES } from "../leaks/leak-report.js";
import type { ReportAnswer, SecretScanning } from "../leaks/secret-scanning.js";
import type { Logger } from "../log/logger.js";
import type { Clock } from "../time/clock.js";

export const SECRET_SCANNING_PATH = "/v1/secret-scanning/github";

/**
 * Reports admitted per minute, from one client address and from all together. GitHub sends a
 * report per push that holds a match, batched, from a few addresses: far below these. Anything
 * above them is a flood of unsigned or replayed requests, each costing a read of up to 1 MiB, a
 * hash over it and a signature check: bounded, they cost the process at most a few percent of a
 * core. A report refused with 429 and Retry-After is one GitHub can send again (as it does after a
 * failure), so a report caught in a flood is late rather than lost. A verified report gives its
 * place in the total back, so only refused requests spend it: a flood of unverified ones cannot
 * make GitHub's own reports use it up, and once the flood has used it up only the addresses of
 * KEYGATE_SECRET_SCANNING_SOURCES (which bypass both bounds) are still verified.
 */
export const REPORTS_PER_SOURCE_PER_MINUTE = 60;
export const REPORTS_PER_MINUTE = 600;

export interface ReportFloodOptions {
  /** Whose X-Forwarded-For names the client (KEYGATE_TRUSTED_PROXIES), as for the admin API. */
  proxies: TrustedProxies;
  /** CIDRs whose reports bypass both bounds (KEYGATE_SECRET_SCANNING_SOURCES, validated); empty: none. */
  sources: readonly string[];
  /** Client addresses remembered (KEYGATE_THROTTLE_MAX_SOURCES). */
  maxSources: number;
  /** The app's clock: the bound's windows follow it, so a test that holds it still sees exact counts. */
  clock: Clock;
}

type Request = IncomingMessage | http2.Http2ServerRequest;
type Response = ServerResponse | http2.Http2ServerResponse;

interface PlainResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string): unknown;
}

/**
 * POST /v1/secret-scanning/github: GitHub's secret-scanning partner reports (src/leaks/). Without
 * KEYGATE_SECRET_SCANNING_KEYS_FILE there is no such endpoint (`scanning` undefined: 404, as for
 * any unknown path), rather than a 503 GitHub would retry for ever. Anyone may send to it, so
 * before anything else a request from outside KEYGATE_SECRET_SCANNING_SOURCES is counted against
 * its client address's rate and everyone's (429 with Retry-After past either, nothing read), and
 * gives its place in everyone's back when it turns out a verified report; then the headers are
 * judged before the body is read, and the body's bytes count in the process's body budget like an
 * RPC's.
 */
export function secretScanningEndpoint(scanning: SecretScanning | undefined, bodies: BodyBudget, logger: Logger, flood: ReportFloodOptions): ExtraHandler {
  const bound = new PerSourceAndTotal({ perSource: REPORTS_PER_SOURCE_PER_MINUTE, total: REPORTS_PER_MINUTE, windowMs: 60_000, maxSources: flood.maxSources, nowMs: () => flood.clock.now() });
  // Undefined when none is configured: an empty AllowList would let every address in.
  const sources = flood.sources.length === 0 ? undefined : AllowList.parse(flood.sources);
  return (req, res) => {
    if (scanning === undefined || (req.url ?? "").split("?", 1)[0] !== SECRET_SCANNING_PATH) return false;
    const response = res as unknown as PlainResponse;
    if (req.method !== "POST") {
      response.writeHead(405, { allow: "POST", "content-type": "text/plain; charset=utf-8" });
      response.end("method not allowed\n");
      return true;
    }
    const client = clientAddress(req.socket?.remoteAddress, req.headers["x-forwarded-for"], flood.proxies);
    const bounded = client === null || sources === undefined || !sources.allows(client);
    const waitMs = bounded ? bound.take(ipSource(client)) : 0;
    if (waitMs > 0) {
      stopReading(req, res);
      const { status, body } = scanning.refuse("rate_limited");
      send(response, status, body, { "retry-after": Math.ceil(waitMs / 1000) });
      return true;
    }
    answer(scanning, req, res, bodies).then(
      ({ status, body }) => {
        if (bounded && status === 200) bound.refundTotal();
        send(response, status, body);
      },
      (error: unknown) => {
        logger.error({ err: error }, "secret-scanning report failed");
        if (!res.headersSent) send(response, 503, { error: { code: "UNAVAILABLE", message: "the report could not be processed; send it again" } });
      },
    );
    return true;
  };
}

async function answer(scanning: SecretScanning, req: Request, res: Response, bodies: BodyBudget): Promise<ReportAnswer> {
  const declared = req.headers["content-length"];
  const headers = {
    contentLength: declared === undefined ? undefined : Number(declared),
    keyIdentifier: single(req.headers["github-public-key-identifier"]),
    signature: single(req.headers["github-public-key-signature"]),
  };
  const early = await scanning.screen(headers);
  if (early) {
    stopReading(req, res);
    return early;
  }
  const body = await readBounded(req, res, bodies);
  return body === undefined ? scanning.refuse("body_too_large") : scanning.receive({ ...headers, body });
}

/**
 * The body, or undefined once it passes MAX_REPORT_BYTES (the rest is not kept). Listened to, not
 * iterated: leaving a for-await early destroys the HTTP/2 request under the answer still to be sent,
 * and its session then outlived the client (close() waited for its deadline).
 */
async function readBounded(req: Request, res: Response, bodies: BodyBudget): Promise<Buffer | undefined> {
  const ledger = bodies.open(connectionOf(req), () => reset(req));
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        length += chunk.length;
        if (length > MAX_REPORT_BYTES) {
          req.off("data", onData);
          stopReading(req, res);
          return resolve();
        }
        if (!ledger.hold(chunk.length)) return reject(new Error("request reset: too many unfinished request bytes held"));
        chunks.push(chunk);
      };
      req.on("data", onData);
      req.once("end", resolve);
      req.once("error", reject);
    });
  } finally {
    ledger.close();
  }
  return length > MAX_REPORT_BYTES ? undefined : Buffer.concat(chunks, length);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function send(res: PlainResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}
