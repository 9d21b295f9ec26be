import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectRouter, ContextValues } from "@connectrpc/connect";
import { BodyBudget } from "./body-budget.js";
import { DEFAULT_BODY_BUDGET, DEFAULT_READ_MAX_BYTES, DEFAULT_REQUEST_BODY_TIMEOUT_MS } from "../config/body-limits.js";
import { serveUnaryFirst } from "./grpc-unary.js";
import { listenBoth } from "./protocol-sniffing.js";
import type { Readiness } from "./readiness.js";
import { secureHttp2, type ServerTls } from "./secure-http2.js";
import { bodyDeadline } from "./request-deadline.js";
import { rpcAdapter } from "./rpc-adapter.js";
import type { RpcAdmission } from "../rpc/rpc-admission.js";
import type { UnaryRoute } from "../rpc/unary-route.js";

type Request = IncomingMessage | http2.Http2ServerRequest;
type Response = ServerResponse | http2.Http2ServerResponse;

/** Plain HTTP endpoints beside the RPCs, e.g. the web console; return false to pass. */
export type ExtraHandler = (req: Request, res: Response) => boolean;

export interface HttpServerOptions {
  routes: (router: ConnectRouter) => void;
  /**
   * Hot unary gRPC methods (Check) served on the lean gRPC path (grpc-unary.ts) instead of Connect
   * for plain gRPC calls; `routes` registers them on Connect too, for every other call. Default none.
   */
  unaryRoutes?: readonly UnaryRoute[];
  readiness: Readiness;
  extraHandlers?: ExtraHandler[];
  /**
   * Largest accepted request message of services that set none (default 4 MiB, body-limits.ts);
   * larger ones are refused before they are buffered.
   */
  readMaxBytes?: number;
  /** Per-request context values for the RPC handlers (e.g. the client address, src/abuse). */
  contextValues?: (req: IncomingMessage | http2.Http2ServerRequest) => ContextValues;
  /** Decisions taken from a call's headers before its body is read, by service type name (rpc-admission.ts). */
  admissions?: ReadonlyMap<string, RpcAdmission>;
  /** Unfinished request bodies held at once; share one between the servers of a process. */
  bodies?: BodyBudget;
  /** An HTTP/1.1 request's body must have arrived this long after its headers (default 30 s). */
  requestBodyTimeoutMs?: number;
  /**
   * A new connection must send its first bytes, and an HTTP/1.1 request its headers, within this
   * (default 10 s): a client that connects and trickles or sends nothing holds no socket for long.
   */
  headersTimeoutMs?: number;
  /** An HTTP/2 connection without any traffic for this long is closed (default 5 min). */
  idleTimeoutMs?: number;
  /** TLS instead of clear text, HTTP/2 only (src/server/secure-http2.ts); default clear text. */
  tls?: ServerTls;
}

/** The part of both HTTP/1.1 and HTTP/2 responses that plain endpoints use. */
interface PlainResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body: string): unknown;
}

function sendJson(res: PlainResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

/**
 * One port for everything: h2c for gRPC (Envoy's Check, health) and HTTP/1.1 or HTTP/2 for
 * Connect and gRPC-Web, plus the probes. `close` stops accepting, lets calls in flight finish
 * (GOAWAY on HTTP/2 sessions), and after the deadline cuts whatever is left.
 */
export class HttpServer {
  readonly #server: NetServer;
  readonly #http1: http.Server;
  readonly #http2: http2.Http2Server | http2.Http2SecureServer;
  readonly #sessions = new Set<http2.Http2Session>();
  readonly #sockets = new Set<Socket>();
  /** HTTP/1.1 sockets and how many requests each is serving, to close idle ones on shutdown. */
  readonly #http1Busy = new Map<Socket, number>();
  /** HTTP/1.1 sockets whose first request's headers have not arrived yet. */
  readonly #headersDeadlines = new WeakMap<Socket, NodeJS.Timeout>();
  #closing = false;

  constructor(options: HttpServerOptions) {
    const readMaxBytes = options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES;
    const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
    const requestBodyTimeoutMs = options.requestBodyTimeoutMs ?? DEFAULT_REQUEST_BODY_TIMEOUT_MS;
    const bodies = options.bodies ?? new BodyBudget(DEFAULT_BODY_BUDGET);
    const rpc = rpcAdapter({
      routes: options.routes,
      readMaxBytes,
      admissions: options.admissions ?? new Map(),
      bodies,
      ...(options.contextValues ? { contextValues: options.contextValues } : {}),
      fallback: (req, res) => {
        const path = (req.url ?? "").split("?")[0];
        if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) return sendJson(res, 200, { status: "ok" });
        if (path === "/readyz" && (req.method === "GET" || req.method === "HEAD")) {
          void options.readiness.refresh().then((state) =>
            sendJson(res, state === "serving" ? 200 : 503, { status: state === "serving" ? "ready" : "not ready" }),
          );
          return;
        }
        sendJson(res, 404, { error: { code: "NOT_FOUND", message: `no route for ${req.method} ${path}` } });
      },
    });
    const extra = options.extraHandlers ?? [];
    const handle = (req: Request, res: Response) => {
      if (req.httpVersionMajor === 1) {
        this.#trackHttp1(req.socket as Socket, res);
        bodyDeadline(req as IncomingMessage, res as ServerResponse, requestBodyTimeoutMs);
      }
      for (const handler of extra) if (handler(req, res)) return;
      rpc(req as http2.Http2ServerRequest, res as http2.Http2ServerResponse);
    };
    this.#http2 = (options.tls === undefined ? http2.createServer : secureHttp2(options.tls, headersTimeoutMs))(
      {
        // Bounds per connection so one slow or greedy client cannot hold unbounded memory.
        maxSessionMemory: 32,
        maxHeaderListPairs: 512,
        settings: { maxConcurrentStreams: 1000, maxHeaderListSize: 256 * 1024 },
      },
      handle,
    );
    // Idle sessions (no frame either way, so no stream in flight: WatchUsage sends heartbeats)
    // are destroyed by node:http2 when nobody listens for "timeout"; clients reconnect.
    this.#http2.setTimeout(options.idleTimeoutMs ?? 300_000);
    // Hot unary gRPC methods (Check) skip Connect and node:http2's compatibility layer.
    serveUnaryFirst(this.#http2, options.unaryRoutes ?? [], readMaxBytes, bodies);
    this.#http1 = http.createServer(
      { maxHeaderSize: 64 * 1024 },
      handle,
    );
    // In clear text the first bytes tell HTTP/1.1 from h2c; over TLS the HTTP/2 server takes its connections itself.
    this.#server = options.tls === undefined ? listenBoth(this.#http1, this.#http2 as http2.Http2Server, headersTimeoutMs) : this.#http2;
    this.#http1.on("connection", (socket: Socket) => {
      this.#http1Busy.set(socket, 0);
      // node:http's own headersTimeout is swept only on servers that listen themselves, and this
      // one is handed its connections: the first request's headers get a deadline here (later
      // requests on the connection are bounded by the keep-alive timeout until their bytes come).
      const deadline = setTimeout(() => socket.destroy(), headersTimeoutMs);
      deadline.unref();
      this.#headersDeadlines.set(socket, deadline);
      socket.once("close", () => {
        clearTimeout(deadline);
        this.#http1Busy.delete(socket);
      });
    });
    this.#http2.on("session", (session) => {
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
    });
    this.#server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    return (this.#server.address() as AddressInfo).port;
  }

  #trackHttp1(socket: Socket, res: Response): void {
    clearTimeout(this.#headersDeadlines.get(socket));
    this.#http1Busy.set(socket, (this.#http1Busy.get(socket) ?? 0) + 1);
    // While closing, the connection ends after this response.
    if (this.#closing) res.setHeader("connection", "close");
    res.once("close", () => {
      const busy = (this.#http1Busy.get(socket) ?? 1) - 1;
      if (!this.#http1Busy.has(socket)) return;
      this.#http1Busy.set(socket, busy);
      if (this.#closing && busy === 0) socket.end();
    });
  }

  /** Resolves once every connection has closed, or the deadline cut the rest. */
  async close(deadlineMs: number): Promise<void> {
    if (!this.#server.listening) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close();
    // HTTP/1.1 keep-alive connections have no GOAWAY: idle ones close now, busy ones after replying.
    // (http.Server#closeIdleConnections only knows sockets of a server that listens itself.)
    for (const [socket, busy] of this.#http1Busy) if (busy === 0) socket.end();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const session of this.#sessions) session.destroy();
        for (const socket of this.#sockets) socket.destroy();
        resolve();
      }, deadlineMs);
    });
    await Promise.race([closed, deadline]);
    clearTimeout(timer);
  }
}
