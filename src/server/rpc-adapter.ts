import http2 from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fromJson, type DescMessage, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouter, type ContextValues } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { BodyBudget, BodyLedger } from "./body-budget.js";
import { withEmptyMessage } from "./empty-request.js";
import { EnvelopeBoundaries } from "./envelope-boundaries.js";
import { withEnumField } from "./enum-value-field.js";
import { OPEN_JSON_MAX_BYTES } from "../config/body-limits.js";
import { FRAME_HEADER_BYTES } from "../rpc/grpc-frame.js";
import { admissionRefusalKey, undecodableMessageKey, type BodyLimit, type RpcAdmission } from "../rpc/rpc-admission.js";

/**
 * connect-node's connectNodeAdapter, with what keygate needs before and while a body is read:
 * - a service's admission (src/rpc/rpc-admission.ts) decides from the headers before a byte
 *   of the body is read; a refused call runs with an empty message and its refusal in the
 *   context (admissionRefusalKey), which the service's interceptor throws;
 * - the admitted service's message limit (JSON to other services: OPEN_JSON_LIMIT), checked
 *   against Content-Length or an envelope's header before the message is read, and against the
 *   bytes as they arrive;
 * - every body's bytes counted in the process's BodyBudget until its message is handed on;
 * - for services that word their own decoding errors (RpcAdmission.undecodable), a unary JSON
 *   message decoded once before Connect does, since Connect's own error has no ErrorInfo.
 */

type NodeRequest = IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = ServerResponse | http2.Http2ServerResponse;

export interface RpcAdapterOptions {
  routes: (router: ConnectRouter) => void;
  /** Largest request message of services that set none themselves. */
  readMaxBytes: number;
  contextValues?: (req: NodeRequest) => ContextValues;
  /** Requests for no RPC. */
  fallback: (req: NodeRequest, res: NodeResponse) => void;
  /** By service type name. */
  admissions: ReadonlyMap<string, RpcAdmission>;
  bodies: BodyBudget;
}

const ENVELOPED = /^application\/(?:grpc|grpc-web|connect\+)/i;
const JSON_CONTENT = /^application\/(?:[a-z-]+\+)?json\b/i;

/** JSON to services without an admission (body-limits.ts). */
const OPEN_JSON_LIMIT: BodyLimit = {
  bytes: OPEN_JSON_MAX_BYTES,
  origin: "JSON to a service open to unauthenticated callers; binary protobuf may be larger",
};

export function rpcAdapter(options: RpcAdapterOptions): (req: NodeRequest, res: NodeResponse) => void {
  const router = createConnectRouter({ readMaxBytes: options.readMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));

  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0]!);
    if (handler === undefined) return options.fallback(req, res);
    const contextValues = options.contextValues?.(req) ?? createContextValues();
    const request = universalRequestFromNodeRequest(req, res, undefined, contextValues);
    const admission = options.admissions.get(handler.service.typeName);
    void admitted(request, handler.method, admission)
      .then((refusal) => {
        if (refusal !== undefined) {
          stopReading(req, res);
          contextValues.set(admissionRefusalKey, refusal);
          return handler(withEmptyMessage(request));
        }
        if (admission === undefined && isCompressed(request.header)) {
          stopReading(req, res);
          return handler({ ...request, body: failing(compressedRefused()) });
        }
        const limit = admission?.maxBody ?? (JSON_CONTENT.test(request.header.get("content-type") ?? "") ? OPEN_JSON_LIMIT : undefined);
        const streaming = handler.method.methodKind === "client_streaming" || handler.method.methodKind === "bidi_streaming";
        if (limit !== undefined && !streaming && Number(req.headers["content-length"]) > limit.bytes + framing(request)) {
          stopReading(req, res);
          // Without its length, or Connect refuses it first with a message that names no origin.
          const header = new Headers(request.header);
          header.delete("content-length");
          return handler({ ...request, header, body: failing(tooLarge(limit)) });
        }
        const ledger = options.bodies.open(connectionOf(req), () => reset(req));
        res.once("close", () => ledger.close());
        const body = metered(request, streaming, ledger, limit, () => stopReading(req, res));
        if (admission?.undecodable !== undefined && !streaming && isUnaryJson(request)) {
          // Read whole here; the length is checked against the header as the bytes arrive (metered).
          const header = new Headers(request.header);
          header.delete("content-length");
          return handler({ ...request, header, body: decodedOrRefused(body, handler.method.input, admission.undecodable, contextValues) });
        }
        return handler({ ...request, body });
      })
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}

/** A Connect unary POST of uncompressed JSON (GET carries its message in the query, and only reads may use it). */
const isUnaryJson = (request: UniversalServerRequest): boolean =>
  request.method === "POST" && /^application\/json\b/i.test(request.header.get("content-type") ?? "") && !isCompressed(request.header);

const EMPTY_JSON = new TextEncoder().encode("{}");

/**
 * The body of a unary JSON call, decoded once beforehand: one that does not decode into the
 * method's input is replaced by an empty message, and the service's `undecodable` error put in
 * the context (undecodableMessageKey), so that its interceptors throw it (with its ErrorInfo)
 * and log and count it like any other error. Bytes that are not JSON at all are passed on for
 * Connect to refuse in its own words.
 */
async function* decodedOrRefused(
  body: AsyncIterable<Uint8Array>,
  schema: DescMessage,
  undecodable: (problem: Error) => unknown,
  contextValues: ContextValues,
): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let json: JsonValue;
  try {
    json = JSON.parse(bytes.toString("utf8")) as JsonValue;
  } catch {
    yield bytes;
    return;
  }
  try {
    fromJson(schema, json, { ignoreUnknownFields: false });
  } catch (problem) {
    const error = problem instanceof Error ? withEnumField(problem, schema, json) : new Error(String(problem));
    contextValues.set(undecodableMessageKey, { thrown: undecodable(error) });
    yield EMPTY_JSON;
    return;
  }
  yield bytes;
}

/** Undefined when the call may read its body; else what the admission threw. */
async function admitted(request: UniversalServerRequest, method: DescMethod, admission: RpcAdmission | undefined): Promise<{ thrown: unknown } | undefined> {
  if (admission === undefined) return undefined;
  try {
    await admission.admit({ method, header: request.header, contextValues: request.contextValues! });
    return undefined;
  } catch (thrown) {
    return { thrown };
  }
}

const framing = (request: UniversalServerRequest) => (ENVELOPED.test(request.header.get("content-type") ?? "") ? FRAME_HEADER_BYTES : 0);

function tooLarge(limit: BodyLimit): ConnectError {
  return new ConnectError(`request message larger than the limit of ${limit.bytes} bytes (${limit.origin})`, Code.ResourceExhausted);
}

/** The headers by which Connect (unary, streaming), gRPC and gRPC-Web name a request's compression. */
const ENCODING_HEADERS = ["content-encoding", "connect-content-encoding", "grpc-encoding"];

function isCompressed(header: Headers): boolean {
  return ENCODING_HEADERS.some((name) => {
    const encoding = header.get(name);
    return encoding !== null && encoding.trim().toLowerCase() !== "identity";
  });
}

/**
 * Services open to callers nobody has authenticated (Check and the access log without a token,
 * health) take no compressed body: the limits above count the bytes sent, and 64 KiB of gzip
 * expands to megabytes of nested JSON that Connect would inflate and parse before any check ran.
 * Envoy sends ext_authz and access logs uncompressed.
 */
const compressedRefused = (): ConnectError =>
  new ConnectError("compressed requests are not accepted by a service open to unauthenticated callers; send the body uncompressed", Code.Unimplemented);

/** A body whose first read fails with `error`: Connect answers with it in the call's protocol. */
function failing(error: ConnectError): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
}

/**
 * The request's body, its bytes counted in `ledger` while they are held: a unary or
 * server-streaming call's until the body ends (Connect decodes its one message then), a client
 * stream's until each message's envelope is complete. A message past `limit` fails the body
 * (after `refused`): enveloped ones as soon as their header announces it.
 */
async function* metered(
  request: UniversalServerRequest,
  streaming: boolean,
  ledger: BodyLedger,
  limit: BodyLimit | undefined,
  refused: () => void,
): AsyncGenerator<Uint8Array> {
  const envelopes = framing(request) > 0 ? new EnvelopeBoundaries() : undefined;
  let read = 0;
  try {
    for await (const chunk of request.body as AsyncIterable<Uint8Array>) {
      read += chunk.byteLength;
      const completed = envelopes?.completedBy(chunk) ?? 0;
      if (limit !== undefined && (envelopes?.longestMessage ?? read) > limit.bytes) {
        refused();
        throw tooLarge(limit);
      }
      if (!ledger.hold(chunk.byteLength)) throw new ConnectError("request reset: too many unfinished request bytes held", Code.ResourceExhausted);
      if (streaming) ledger.release(completed);
      yield chunk;
    }
  } finally {
    ledger.close();
  }
}
export const connectionOf = (req: NodeRequest): object => ("stream" in req ? (req.stream.session ?? req.stream) : req.socket);

/** Ends a request whose body the budget evicted: HTTP/2 resets its stream, HTTP/1.1 can only close the connection. */
export function reset(req: NodeRequest): void {
  if ("stream" in req) req.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  else req.socket.destroy();
}

/**
 * Once the answer to a call refused before its body is sent, the client should stop sending it:
 * HTTP/1.1 closes the connection (else node:http reads and discards the rest to reuse it), HTTP/2
 * resets the stream with NO_ERROR, which tells the client its answer is complete.
 */
export function stopReading(req: NodeRequest, res: NodeResponse): void {
  if ("stream" in req) {
    const stream = req.stream;
    res.once("finish", () => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  } else if (!res.headersSent) {
    (res as ServerResponse).setHeader("connection", "close");
  }
}
