import { create, fromBinary, fromJson, toBinary, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamAccessLogsMessageSchema } from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import { Authorization, CheckResponseSchema, CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { KeyAdminService, UsagePeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { generateSecret } from "../../src/model/secret.js";
import { accessLogMetric } from "../../src/usage/usage-metrics.js";
import { envoyRequest, outcomeOf } from "../authz/check-harness.js";
import { makeCertificates, type TestCertificates } from "../support/certificates.js";
import { grpcCall, type GrpcCallOptions } from "../support/grpc-call.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * The data plane's trust boundary (contract: "The data plane's trust boundary"; docs/security.md)
 * on a running keygate. Check and the access-log service believe what their caller tells them (a
 * client address, an access-log entry), so only Envoy may call them: a caller passes with the
 * token, by reaching the data-plane port, or with a verified client certificate there. Envoy's
 * peers are loopback addresses: 127.0.0.1 plays Envoy, 127.0.0.2 someone else on the network.
 */

const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const ACCESS_LOG = "/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs";
const TOKEN = "dp-token-0123456789abcdefghijklmnopqrstuvwxyz";
const PREVIOUS = "dp-previous-0123456789abcdefghijklmnopqrstuvwxyz";
const ENVOY = "127.0.0.1";
const FORGER = "127.0.0.2";
const REAL_CLIENT = "203.0.113.9";
const FAILED_KEY_LIMIT = 5;
/** grpc-status of a call that succeeded (Connect's Code has no member for it). */
const GRPC_OK = 0;

const withToken = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Check over gRPC as Envoy calls it: the decision ("allowed" or the denial code), or the RPC's error code. */
async function check(url: string, secret: string, options: GrpcCallOptions & { clientIp?: string } = {}): Promise<string> {
  const request = envoyRequest({ "x-api-key": secret }, { sourceIp: options.clientIp ?? REAL_CLIENT, path: "/v1/machines/1" });
  const answer = await grpcCall(url, CHECK, { ...options, messages: [toBinary(CheckRequestSchema, request)] });
  // No HTTP response at all: the connection was refused (a TLS handshake without a valid client certificate).
  if (answer.httpStatus === undefined) return `failed: ${answer.error ?? "no answer"}`;
  if (answer.grpcStatus !== GRPC_OK) return Code[answer.grpcStatus!] ?? `grpc-status ${answer.grpcStatus}`;
  return outcomeOf(fromBinary(CheckResponseSchema, answer.messages[0]!));
}

/**
 * Access-log entries naming `keyId` through ext_authz dynamic metadata: `entries` responses of
 * 500 with 2^40 bytes each (the most one entry may claim), 91 of them a little over 10^14 bytes.
 */
function forgedLogs(t: TestApp, keyId: string, entries: number): Uint8Array {
  const entry = {
    commonProperties: {
      startTime: new Date(t.clock.now()).toISOString(),
      duration: "0.1s",
      metadata: { filterMetadata: { "envoy.filters.http.ext_authz": { key_id: keyId, organization_id: t.admin.organization.id } } },
      downstreamWireBytesReceived: String(2 ** 39),
      downstreamWireBytesSent: String(2 ** 39),
    },
    request: { requestMethod: "GET", path: "/v1/machines/1" },
    response: { responseCode: 500 },
  };
  const message = { identifier: { logName: "keygate" }, httpLogs: { logEntry: Array.from({ length: entries }, () => entry) } } as JsonValue;
  return toBinary(StreamAccessLogsMessageSchema, fromJson(StreamAccessLogsMessageSchema, message));
}

/** What the forged entries would have changed: the key's billed megabytes and the error rate. */
async function billedAndErrors(t: TestApp, keyId: string): Promise<{ mb: number; errorRate: number; recorded: number }> {
  await t.app.usage.recorder.flush();
  const month = new Date(t.clock.now()).toISOString().slice(0, 7);
  const billing = await t.client.getBillingUsage({ billingPeriod: month });
  const analytics = await t.client.getAnalyticsSummary({ period: UsagePeriod.DAY });
  return {
    mb: billing.keys.find((k) => k.keyId === keyId)?.dataTransferredMb ?? 0,
    errorRate: analytics.errorRatePercent,
    recorded: t.app.usage.metrics.value(accessLogMetric("recorded")),
  };
}

async function rpcCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "Ok";
  } catch (error) {
    return Code[ConnectError.from(error).code]!;
  }
}

const metadataInterceptor =
  (metadata: Record<string, string>): Interceptor =>
  (next) =>
  (req) => {
    for (const [name, value] of Object.entries(metadata)) req.header.set(name, value);
    return next(req);
  };

/** A key Check has not seen yet, so it is not cached: Check must look it up (or refuse to, when throttled). */
async function uncachedKey(t: TestApp): Promise<string> {
  return (await t.client.createKey({ name: "fresh", scopes: ["machines:read"] })).secret;
}

describe("no boundary configured (neither token nor data-plane port)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: String(FAILED_KEY_LIMIT) } });
  });
  afterAll(async () => t?.close());

  it("says once, at start, that the data plane is open and the access-log service refuses every stream", () => {
    const lines = t.logs.filter((line) => line.includes("access-log service refuses every stream"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/"level":"warn"/);
    expect(lines[0]).toMatch(/KEYGATE_DATA_PLANE_TOKEN/);
  });

  it("refuses a forged access-log stream with PERMISSION_DENIED: no 100,000,000 MB on a key's bill, no error rate", async () => {
    const { key } = await t.client.createKey({ name: "victim", scopes: ["machines:read"] });
    const answer = await grpcCall(t.app.url, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 91)], localAddress: FORGER });
    expect(answer.grpcStatus).toBe(Code.PermissionDenied);
    expect(answer.grpcMessage).toMatch(/KEYGATE_DATA_PLANE_TOKEN or KEYGATE_DATA_PLANE_PORT/);
    // Not even from Envoy's own address: without a boundary keygate cannot tell who calls.
    expect((await grpcCall(t.app.url, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)], localAddress: ENVOY })).grpcStatus).toBe(Code.PermissionDenied);
    expect(await billedAndErrors(t, key!.id)).toEqual({ mb: 0, errorRate: 0, recorded: 0 });
    expect(t.app.usage.metrics.value("access_log_streams_refused_total")).toBe(2);
  });

  it("forged Checks from another peer do not poison the failed-key throttle of a real client's address", async () => {
    const realKey = await uncachedKey(t);
    const forgersValidKey = await uncachedKey(t);
    // The forger claims to be the real client, with guessed keys, far past the limit.
    for (let i = 0; i < FAILED_KEY_LIMIT * 10; i++) {
      expect(await check(t.app.url, generateSecret("live"), { localAddress: FORGER, clientIp: REAL_CLIENT })).toBe("API_KEY_INVALID");
    }
    // The forger spent its own budget for that address: even a valid key of its own is not looked up.
    expect(await check(t.app.url, forgersValidKey, { localAddress: FORGER, clientIp: REAL_CLIENT })).toBe("API_KEY_INVALID");
    // The real client, through Envoy, still gets its valid key checked.
    expect(await check(t.app.url, realKey, { localAddress: ENVOY, clientIp: REAL_CLIENT })).toBe("allowed");
  });

  it("takes no compressed body from anyone: a little gzip inflates to megabytes of JSON before any check", async () => {
    const secret = await uncachedKey(t);
    const request = envoyRequest({ "x-api-key": secret }, { sourceIp: REAL_CLIENT });
    const answer = await grpcCall(t.app.url, CHECK, { messages: [toBinary(CheckRequestSchema, request)], metadata: { "grpc-encoding": "gzip" } });
    expect([answer.grpcStatus, answer.grpcMessage]).toEqual([Code.Unimplemented, expect.stringMatching(/compressed requests are not accepted/)]);
    expect(await check(t.app.url, secret)).toBe("allowed");
  });

  it("still throttles guessing through one peer, per client address", async () => {
    const validKey = await uncachedKey(t);
    for (let i = 0; i < FAILED_KEY_LIMIT; i++) expect(await check(t.app.url, generateSecret("live"), { localAddress: ENVOY, clientIp: "198.51.100.1" })).toBe("API_KEY_INVALID");
    expect(await check(t.app.url, validKey, { localAddress: ENVOY, clientIp: "198.51.100.1" })).toBe("API_KEY_INVALID");
    expect(await check(t.app.url, validKey, { localAddress: ENVOY, clientIp: "198.51.100.2" })).toBe("allowed");
  });
});

describe("KEYGATE_DATA_PLANE_TOKEN", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: String(FAILED_KEY_LIMIT), LOG_LEVEL: "debug" } });
  });
  afterAll(async () => t?.close());

  it("lean gRPC path: Check without the token, or with another, fails UNAUTHENTICATED before its body is read", async () => {
    const secret = await uncachedKey(t);
    expect(await check(t.app.url, secret)).toBe("Unauthenticated");
    expect(await check(t.app.url, secret, { metadata: withToken(`${TOKEN}x`) })).toBe("Unauthenticated");
    expect(await check(t.app.url, secret, { metadata: withToken(TOKEN.slice(0, -1)) })).toBe("Unauthenticated");
    expect(await check(t.app.url, secret, { metadata: { authorization: TOKEN } })).toBe("Unauthenticated");
    expect(await check(t.app.url, secret, { metadata: { "x-api-key": TOKEN } })).toBe("Unauthenticated");
    // A request whose body never ends is answered at once: Connect's route would wait for the body.
    const unfinished = await grpcCall(t.app.url, CHECK, { endRequest: false });
    expect([unfinished.grpcStatus, unfinished.grpcMessage]).toEqual([Code.Unauthenticated, expect.stringMatching(/data-plane token/)]);
    expect(await check(t.app.url, secret, { metadata: withToken(TOKEN) })).toBe("allowed");
    expect(await check(t.app.url, secret, { metadata: { authorization: `bearer ${TOKEN}` } })).toBe("allowed");
  });

  it("Connect route: a call without the token is refused from its headers, before its body is read or inflated", async () => {
    // grpc-encoding: gzip keeps the call off the lean path, on Connect's, which reads, inflates and
    // parses a message before any interceptor runs: this one's body never ends.
    const unfinished = await grpcCall(t.app.url, CHECK, { endRequest: false, metadata: { "grpc-encoding": "gzip" } });
    expect([unfinished.grpcStatus, unfinished.grpcMessage]).toEqual([Code.Unauthenticated, expect.stringMatching(/data-plane token/)]);
    const accessLog = await grpcCall(t.app.url, ACCESS_LOG, { endRequest: false, metadata: { "grpc-encoding": "gzip" } });
    expect(accessLog.grpcStatus).toBe(Code.Unauthenticated);
  });

  it("Connect route: Check in the Connect protocol needs the token just the same", async () => {
    const secret = await uncachedKey(t);
    const connectCheck = (metadata: Record<string, string>) =>
      createClient(Authorization, createConnectTransport({ baseUrl: t.app.url, httpVersion: "1.1", interceptors: [metadataInterceptor(metadata)] })).check(
        envoyRequest({ "x-api-key": secret }, { sourceIp: REAL_CLIENT }),
      );
    expect(await rpcCode(connectCheck({}))).toBe("Unauthenticated");
    expect(await rpcCode(connectCheck(withToken("another-token-0123456789abcdefghijklmnop")))).toBe("Unauthenticated");
    expect(outcomeOf(await connectCheck(withToken(TOKEN)))).toBe("allowed");
  });

  it("the access-log service takes entries only with the token", async () => {
    const { key } = await t.client.createKey({ name: "logged", scopes: ["machines:read"] });
    expect((await grpcCall(t.app.url, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)] })).grpcStatus).toBe(Code.Unauthenticated);
    expect((await grpcCall(t.app.url, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)], metadata: withToken(`${TOKEN}0`) })).grpcStatus).toBe(Code.Unauthenticated);
    expect((await billedAndErrors(t, key!.id)).recorded).toBe(0);
    expect((await grpcCall(t.app.url, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 2)], metadata: withToken(TOKEN) })).grpcStatus).toBe(GRPC_OK);
    const figures = await billedAndErrors(t, key!.id);
    expect(figures.recorded).toBe(2);
    expect(figures.mb).toBeCloseTo((2 * 2 ** 40) / 1e6, 0);
  });

  it("forged Checks never reach the failed-key throttle; Envoy's Checks share one budget per client address whichever Envoy sends them", async () => {
    const realKey = await uncachedKey(t);
    for (let i = 0; i < FAILED_KEY_LIMIT * 10; i++) expect(await check(t.app.url, generateSecret("live"), { localAddress: FORGER })).toBe("Unauthenticated");
    expect(await check(t.app.url, realKey, { localAddress: ENVOY, metadata: withToken(TOKEN) })).toBe("allowed");

    // A client guessing keys through two Envoys (two peers holding the token) has one budget.
    const anotherKey = await uncachedKey(t);
    for (let i = 0; i < FAILED_KEY_LIMIT; i++) {
      expect(await check(t.app.url, generateSecret("live"), { localAddress: ENVOY, metadata: withToken(TOKEN), clientIp: "198.51.100.7" })).toBe("API_KEY_INVALID");
    }
    expect(await check(t.app.url, anotherKey, { localAddress: FORGER, metadata: withToken(TOKEN), clientIp: "198.51.100.7" })).toBe("API_KEY_INVALID");
  });

  it("never writes the token to the log", async () => {
    await check(t.app.url, generateSecret("live"), { metadata: withToken(TOKEN) });
    expect(t.logs.length).toBeGreaterThan(0);
    expect(t.logs.join("\n")).not.toContain(TOKEN);
    expect(t.logs.join("\n")).not.toContain("access-log service refuses every stream");
  });
});

describe("KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: a rotation under way", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: PREVIOUS, LOG_LEVEL: "debug" } });
  });
  afterAll(async () => t?.close());

  /** keygate_data_plane_previous_token_total{method} as /metrics shows it. */
  async function previousTokenCalls(method: string): Promise<number> {
    const { text } = await t.app.metrics.scrape();
    const line = text.split("\n").find((l) => l.startsWith(`keygate_data_plane_previous_token_total{method="${method}"} `));
    return Number(line?.split(" ")[1]);
  }

  it("allows a Check with the previous token or the current one, refuses one with neither, and counts the previous token's", async () => {
    const secret = await uncachedKey(t);
    expect(await previousTokenCalls("Check")).toBe(0);
    expect(await check(t.app.url, secret, { metadata: withToken(PREVIOUS) })).toBe("allowed");
    expect(await check(t.app.url, secret, { metadata: withToken(TOKEN) })).toBe("allowed");
    expect(await check(t.app.url, secret)).toBe("Unauthenticated");
    expect(await check(t.app.url, secret, { metadata: withToken(`${PREVIOUS}x`) })).toBe("Unauthenticated");
    expect(await check(t.app.url, secret, { metadata: withToken("another-token-0123456789abcdefghijklmnop") })).toBe("Unauthenticated");
    expect(await previousTokenCalls("Check")).toBe(1);
    // Connect's route (its interceptor) counts just the same.
    const connectCheck = createClient(Authorization, createConnectTransport({ baseUrl: t.app.url, httpVersion: "1.1", interceptors: [metadataInterceptor(withToken(PREVIOUS))] }));
    expect(outcomeOf(await connectCheck.check(envoyRequest({ "x-api-key": secret }, { sourceIp: REAL_CLIENT })))).toBe("allowed");
    expect(await previousTokenCalls("Check")).toBe(2);
  });

  it("takes access-log entries with the previous token, and counts the stream", async () => {
    const { key } = await t.client.createKey({ name: "logged", scopes: ["machines:read"] });
    expect((await grpcCall(t.app.url, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)], metadata: withToken(PREVIOUS) })).grpcStatus).toBe(GRPC_OK);
    expect((await billedAndErrors(t, key!.id)).recorded).toBe(1);
    expect(await previousTokenCalls("StreamAccessLogs")).toBe(1);
  });

  it("says once, at start, that the previous token is still accepted, and writes neither token to the log", () => {
    expect(t.logs.filter((line) => line.includes("KEYGATE_DATA_PLANE_TOKEN_PREVIOUS is still accepted"))).toHaveLength(1);
    const all = t.logs.join("\n");
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(PREVIOUS);
  });
});

describe("KEYGATE_DATA_PLANE_PORT", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { KEYGATE_DATA_PLANE_PORT: "0", KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: String(FAILED_KEY_LIMIT) } });
  });
  afterAll(async () => t?.close());

  it("serves Check and the access log on its own listener, and no longer on PORT", async () => {
    const dataPlane = t.app.dataPlaneUrl!;
    expect(dataPlane).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(t.app.dataPlanePort).not.toBe(t.app.port);
    const secret = await uncachedKey(t);
    const { key } = await t.client.createKey({ name: "logged", scopes: ["machines:read"] });

    // On PORT, as for any method keygate does not serve there.
    const onPort = createClient(Authorization, createGrpcTransport({ baseUrl: t.app.url }));
    expect(await rpcCode(onPort.check(envoyRequest({ "x-api-key": secret }, { sourceIp: REAL_CLIENT })))).toBe("Unimplemented");
    expect((await grpcCall(t.app.url, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)] })).httpStatus).toBe(404);
    expect((await grpcCall(t.app.url, "/envoy.service.auth.v3.Authorization/Unknown", {})).httpStatus).toBe(404);

    // On the data-plane port, no token needed: the port is the boundary.
    expect(await check(dataPlane, secret)).toBe("allowed");
    expect((await grpcCall(dataPlane, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)] })).grpcStatus).toBe(GRPC_OK);
    expect((await billedAndErrors(t, key!.id)).recorded).toBe(1);
  });

  it("serves health on both ports, and the admin API, metrics and console on PORT only", async () => {
    const dataPlane = t.app.dataPlaneUrl!;
    for (const url of [t.app.url, dataPlane]) {
      const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
      expect((await health.check({ service: Authorization.typeName })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    }
    const adminOnDataPlane = createClient(KeyAdminService, createConnectTransport({ baseUrl: dataPlane, httpVersion: "1.1" }));
    expect(await rpcCode(adminOnDataPlane.listKeys({}))).toBe("Unimplemented");
    expect((await fetch(`${dataPlane}/metrics`)).status).toBe(404);
    expect((await fetch(`${dataPlane}/console/`)).status).toBe(404);
    expect((await fetch(`${t.app.url}/metrics`)).status).toBe(200);
  });

  it("counts as the boundary: the failed-key throttle is per client address, whichever peer", async () => {
    const validKey = await uncachedKey(t);
    for (let i = 0; i < FAILED_KEY_LIMIT; i++) expect(await check(t.app.dataPlaneUrl!, generateSecret("live"), { localAddress: ENVOY, clientIp: "198.51.100.9" })).toBe("API_KEY_INVALID");
    expect(await check(t.app.dataPlaneUrl!, validKey, { localAddress: FORGER, clientIp: "198.51.100.9" })).toBe("API_KEY_INVALID");
  });

  it("logs the boundary at start, not the open-data-plane warning", () => {
    expect(t.logs.join("\n")).not.toContain("access-log service refuses every stream");
    expect(t.logs.some((line) => line.includes("data plane listening") && line.includes(`"port":${t.app.dataPlanePort}`))).toBe(true);
  });
});

describe("TLS with client certificates on the data-plane listener", () => {
  let certs: TestCertificates;
  let t: TestApp;
  let tls: { ca: Buffer; cert: Buffer; key: Buffer };
  beforeAll(async () => {
    certs = makeCertificates();
    tls = { ca: certs.read(certs.caCert), cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) };
    t = await startTestApp({
      env: {
        KEYGATE_DATA_PLANE_PORT: "0",
        KEYGATE_TLS_CERT_FILE: certs.serverCert,
        KEYGATE_TLS_KEY_FILE: certs.serverKey,
        KEYGATE_TLS_CLIENT_CA_FILE: certs.caCert,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    certs?.remove();
  });

  it("answers a peer with a client certificate of the CA: Check and the access log", async () => {
    expect(t.app.dataPlaneUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const secret = await uncachedKey(t);
    expect(await check(t.app.dataPlaneUrl!, secret, { tls })).toBe("allowed");
    const { key } = await t.client.createKey({ name: "logged", scopes: ["machines:read"] });
    expect((await grpcCall(t.app.dataPlaneUrl!, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)], tls })).grpcStatus).toBe(GRPC_OK);
    expect((await billedAndErrors(t, key!.id)).recorded).toBe(1);
  });

  it("refuses the TLS handshake without a client certificate, or with one of another CA", async () => {
    const secret = await uncachedKey(t);
    const { key } = await t.client.createKey({ name: "logged", scopes: ["machines:read"] });
    const before = (await billedAndErrors(t, key!.id)).recorded;
    expect(await check(t.app.dataPlaneUrl!, secret, { tls: { ca: tls.ca } })).toMatch(/^failed: /);
    const rogue = { ca: tls.ca, cert: certs.read(certs.rogueClientCert), key: certs.read(certs.rogueClientKey) };
    expect(await check(t.app.dataPlaneUrl!, secret, { tls: rogue })).toMatch(/^failed: /);
    // Nor does plain h2c get through.
    expect(await check(t.app.dataPlaneUrl!.replace("https:", "http:"), secret)).toMatch(/^failed: /);
    const logs = await grpcCall(t.app.dataPlaneUrl!, ACCESS_LOG, { messages: [forgedLogs(t, key!.id, 1)], tls: rogue });
    expect(logs.httpStatus).toBeUndefined();
    expect((await billedAndErrors(t, key!.id)).recorded).toBe(before);
  });

  it("leaves PORT in clear text for the admin API", async () => {
    expect(t.app.url).toMatch(/^http:/);
    expect((await t.client.listKeys({})).keys.length).toBeGreaterThan(0);
  });
});
