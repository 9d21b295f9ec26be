import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorization, CheckRequestSchema, CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { CheckRequestDecoder } from "../../src/authz/check-request-decoder.js";
import { unaryRoute } from "../../src/rpc/unary-route.js";
import { HttpServer } from "../../src/server/http-server.js";
import { Readiness } from "../../src/server/readiness.js";

/**
 * The lean gRPC path answers exactly as Connect's gRPC handler does. Two servers with the same
 * Check implementation, one with the lean path and one with Connect only, get the same raw
 * HTTP/2 requests (well-formed, and every way a body or its headers can be wrong), and must give
 * the same status, content type, grpc-status, grpc-message and response bytes.
 */

const READ_MAX_BYTES = 1_024;
const response = create(CheckResponseSchema, { status: { code: 0 }, dynamicMetadata: { decision_id: "fixed" } });

/** The implementation both servers run; the request's path (x-behaviour header) picks a failure. */
function implementation(request: { attributes?: { request?: { http?: { path: string } } } }) {
  const path = request.attributes?.request?.http?.path;
  if (path === "/unavailable") throw new ConnectError("key store unavailable: ü/%", Code.Unavailable);
  if (path === "/bug") throw new Error("a bug");
  if (path === "/reject") return Promise.reject(new ConnectError("rejected later", Code.PermissionDenied));
  if (path === "/later") return Promise.resolve(response);
  return response;
}

/** Calls that went through the lean path (its decode ran). */
let leanCalls = 0;
const decoder = new CheckRequestDecoder();

async function serve(lean: boolean): Promise<{ server: HttpServer; port: number }> {
  const routes = (router: ConnectRouter) => router.service(Authorization, { check: async (request) => implementation(request) });
  const leanRoute = unaryRoute(Authorization.method.check, {
    decode: (bytes) => {
      leanCalls++;
      return decoder.decode(bytes);
    },
    call: (request) => {
      const answer = implementation(request);
      return answer instanceof Promise ? answer.then((r) => toBinary(CheckResponseSchema, r)) : toBinary(CheckResponseSchema, answer);
    },
  });
  const server = new HttpServer({
    routes,
    unaryRoutes: lean ? [leanRoute] : [],
    readiness: new Readiness({ ping: async () => {} }),
    readMaxBytes: READ_MAX_BYTES,
  });
  return { server, port: await server.listen(0, "127.0.0.1") };
}

interface Answer {
  status: number | undefined;
  contentType: string | undefined;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  details: string | undefined;
  body: string;
}

function call(port: number, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": "/envoy.service.auth.v3.Authorization/Check",
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.on("close", () => {
      session.close();
      const either = (name: string) => (trailers[name] ?? responseHeaders[name]) as string | undefined;
      resolve({
        status: responseHeaders[":status"] as number | undefined,
        contentType: responseHeaders["content-type"],
        grpcStatus: either("grpc-status"),
        grpcMessage: either("grpc-message"),
        details: either("grpc-status-details-bin"),
        body: Buffer.concat(chunks).toString("hex"),
      });
    });
    stream.end(body);
  });
}

const frame = (message: Uint8Array, flags = 0, declared = message.length) => {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flags;
  out.writeUInt32BE(declared, 1);
  out.set(message, 5);
  return out;
};
const request = (path: string) => toBinary(CheckRequestSchema, create(CheckRequestSchema, { attributes: { request: { http: { path } } } }));
const ok = request("/v1/machines");

const bodies: Array<[string, Buffer]> = [
  ["a well-formed call", frame(ok)],
  ["an empty message", frame(new Uint8Array(0))],
  ["an asynchronous answer", frame(request("/later"))],
  ["an RPC error thrown", frame(request("/unavailable"))],
  ["an RPC error rejected", frame(request("/reject"))],
  ["a bug", frame(request("/bug"))],
  ["no body", Buffer.alloc(0)],
  ["three bytes", Buffer.from([0, 0, 0])],
  ["a frame shorter than it says", frame(ok, 0, ok.length + 10)],
  ["two messages", Buffer.concat([frame(ok), frame(ok)])],
  ["a second message cut short", Buffer.concat([frame(ok), frame(ok).subarray(0, 7)])],
  ["a second header cut short", Buffer.concat([frame(ok), Buffer.from([0, 0])])],
  ["the compression flag without compression", frame(ok, 1)],
  ["other flag bits", frame(ok, 0x80)],
  ["bytes that are not a CheckRequest", frame(Buffer.from([0x0a, 0x05, 0x01]))],
  ["a message larger than readMaxBytes", frame(Buffer.alloc(READ_MAX_BYTES + 1))],
  ["a length larger than readMaxBytes, no message", frame(new Uint8Array(0), 0, 10 * READ_MAX_BYTES)],
  ["a second message beyond readMaxBytes", Buffer.concat([frame(ok), frame(Buffer.alloc(READ_MAX_BYTES + 1))])],
  ["many messages past readMaxBytes in all", Buffer.concat(Array.from({ length: 40 }, () => frame(ok)))],
];

const headerVariants: Array<[string, http2.OutgoingHttpHeaders]> = [
  ["application/grpc+proto", { "content-type": "application/grpc+proto" }],
  ["upper case content type", { "content-type": "Application/GRPC" }],
  ["application/grpc+json (Connect's)", { "content-type": "application/grpc+json" }],
  ["grpc-web (Connect's)", { "content-type": "application/grpc-web" }],
  ["identity encoding", { "grpc-encoding": "identity" }],
  ["gzip encoding (Connect's)", { "grpc-encoding": "gzip" }],
  ["a grpc-timeout", { "grpc-timeout": "200m" }],
  ["a malformed grpc-timeout (Connect's)", { "grpc-timeout": "soon" }],
  ["GET (Connect's)", { ":method": "GET" }],
];

describe("the lean gRPC path answers as Connect does", () => {
  let lean: Awaited<ReturnType<typeof serve>>;
  let connect: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    [lean, connect] = await Promise.all([serve(true), serve(false)]);
  });
  afterAll(async () => {
    await Promise.all([lean.server.close(1_000), connect.server.close(1_000)]);
  });

  it.each(bodies)("%s", async (_name, body) => {
    const [fast, reference] = await Promise.all([call(lean.port, body), call(connect.port, body)]);
    expect(fast).toEqual(reference);
  });

  it.each(headerVariants)("%s", async (_name, headers) => {
    const [fast, reference] = await Promise.all([call(lean.port, frame(ok), headers), call(connect.port, frame(ok), headers)]);
    expect(fast).toEqual(reference);
  });

  it("Connect keeps what the lean path does not take", async () => {
    const before = leanCalls;
    for (const [, headers] of headerVariants.filter(([name]) => name.includes("Connect's"))) await call(lean.port, frame(ok), headers);
    expect(leanCalls).toBe(before);
  });

  it("a well-formed call is really answered by the lean path", async () => {
    const before = leanCalls;
    const answer = await call(lean.port, frame(ok));
    expect(leanCalls).toBe(before + 1);
    expect(answer.grpcStatus).toBe("0");
    expect(answer.body).toBe(frame(toBinary(CheckResponseSchema, response)).toString("hex"));
  });

  it("a client that resets its stream mid-call leaves the server serving", async () => {
    const session = http2.connect(`http://127.0.0.1:${lean.port}`);
    const stream = session.request({ ":method": "POST", ":path": "/envoy.service.auth.v3.Authorization/Check", "content-type": "application/grpc" });
    stream.on("error", () => {});
    stream.write(frame(ok).subarray(0, 3));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((resolve) => stream.on("close", resolve));
    session.close();
    expect((await call(lean.port, frame(ok))).grpcStatus).toBe("0");
  });
});
