import { spawn } from "node:child_process";
import http2 from "node:http2";
import net from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { CheckRequestSchema, CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { runCli } from "../../src/cli/main.js";
import { bearer } from "../support/app.js";
import { freshMongoStore, type FreshMongoStore } from "../support/mongo.js";
import { transpiledSources, type TranspiledSources } from "../support/transpiled.js";
import { capture, PEPPER } from "../cli/capture.js";
import { outcome } from "./check-client.js";

/**
 * SIGTERM to a real keygate process (`node …/src/main.js`, as `npm start` runs it) on the run's
 * mongod: gRPC health turns NOT_SERVING, the listener closes (new connections are refused), a
 * Check in flight still gets its answer, open WatchUsage streams end normally, the usage buffered
 * in memory (flush interval one hour: only the shutdown flush can write it) is stored exactly, and
 * the process exits with code 0 within KEYGATE_SHUTDOWN_TIMEOUT_MS. A call that never finishes is
 * cut at that deadline, and the process still exits, flushed, right after it.
 *
 * The process runs the sources as test/support/transpiled.ts builds them.
 */

/** What the process may take beyond the deadline: the final flush and exit on a busy machine. */
const EXIT_MARGIN_MS = 1_500;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  atMs: number;
}

interface Keygate {
  url: string;
  port: number;
  exited: Promise<Exit>;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

let mainJs = "";
let sources: TranspiledSources | undefined;
let mongo: FreshMongoStore;
let adminSecret = "";
let organizationId = "";
const running: Keygate[] = [];

beforeAll(async () => {
  sources = await transpiledSources("sigterm-test");
  mainJs = join(sources.dir, "src", "main.js");

  mongo = await freshMongoStore();
  const bootstrap = capture(environment());
  expect(await runCli(["bootstrap", "--org", "acme", "--json"], bootstrap.io), bootstrap.err()).toBe(0);
  ({ secret: adminSecret, organizationId } = JSON.parse(bootstrap.out()) as { secret: string; organizationId: string });
});

afterEach(() => {
  for (const keygate of running.splice(0)) keygate.kill("SIGKILL");
});

afterAll(async () => {
  await mongo?.cleanup();
  await sources?.remove();
});

/** The process's whole environment: nothing leaks in from the shell running the tests. */
function environment(settings: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "",
    MONGODB_URI: inject("mongoUri"),
    MONGODB_DB: mongo.db.databaseName,
    KEYGATE_PEPPER: PEPPER,
    ...settings,
  };
}

/** Starts keygate on a free port and resolves once it logs that it listens. */
function startKeygate(settings: Record<string, string>): Promise<Keygate> {
  const child = spawn(process.execPath, [mainJs], {
    env: environment({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", KEYGATE_DEMO_BOOTSTRAP: "false", ...settings }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  child.stderr.setEncoding("utf8").on("data", (text: string) => lines.push(text));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, atMs: performance.now() })));
  return new Promise((resolve, reject) => {
    void exited.then((exit) => reject(new Error(`keygate exited (${exit.code ?? exit.signal}) before listening:\n${lines.join("\n")}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      if (!line.includes('"keygate listening"')) return;
      const entry = JSON.parse(line) as { port: number };
      const keygate: Keygate = {
        url: `http://127.0.0.1:${entry.port}`,
        port: entry.port,
        exited,
        output: () => lines.join("\n"),
        kill: (signal) => void child.kill(signal),
      };
      running.push(keygate);
      resolve(keygate);
    });
  });
}

/**
 * A gRPC Check on an HTTP/2 session of its own, the request message sent in two parts: all but
 * its last byte at once, the last byte only on `finish()`. Until then the call is in flight on the
 * server, which waits for the rest of its body. `outcome` is the decision's JSON code or
 * "allowed"; it rejects when the stream ends without an answer.
 */
function checkInParts(session: http2.ClientHttp2Session, secret: string): { finish(): void; outcome: Promise<string> } {
  const message = toBinary(
    CheckRequestSchema,
    create(CheckRequestSchema, {
      attributes: {
        source: { address: { address: { case: "socketAddress", value: { address: "10.1.2.3", portSpecifier: { case: "portValue", value: 5555 } } } } },
        request: { http: { method: "GET", path: "/machines/42", host: "api.example.com", headers: { "x-api-key": secret, ":path": "/machines/42" } } },
        contextExtensions: { required_scopes: "machines:read" },
      },
    }),
  );
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  const stream = session.request({
    ":method": "POST",
    ":path": "/envoy.service.auth.v3.Authorization/Check",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.write(frame.subarray(0, frame.length - 1));
  const chunks: Buffer[] = [];
  let status: string | undefined;
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("trailers", (trailers) => (status = String(trailers["grpc-status"])));
  const answered = new Promise<string>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("close", () => {
      if (status !== "0") return reject(new Error(`Check ended without an answer (rst code ${stream.rstCode}, grpc-status ${status})`));
      resolve(outcome(fromBinary(CheckResponseSchema, Buffer.concat(chunks).subarray(5))));
    });
  });
  answered.catch(() => {}); // awaited by the test; an earlier failure must not add an unhandled rejection
  return { finish: () => stream.end(frame.subarray(frame.length - 1)), outcome: answered };
}

/** Resolves once a TCP connection to the port is refused (the listener is closed). */
async function refused(port: number, withinMs: number): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < withinMs) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once("error", resolve);
    });
    if (error?.code === "ECONNREFUSED") return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`port ${port} still accepts connections after ${withinMs} ms`);
}

async function storedRequests(keyId: string): Promise<number> {
  return (await mongo.store.usage.keyTotals(organizationId, [keyId])).get(keyId)?.requests ?? 0;
}

async function createKey(keygate: Keygate, name: string): Promise<{ id: string; secret: string }> {
  const admin = createClient(KeyAdminService, createConnectTransport({ baseUrl: keygate.url, httpVersion: "1.1", interceptors: [bearer(adminSecret)] }));
  const { key, secret } = await admin.createKey({ name, scopes: ["machines:read"] });
  return { id: key!.id, secret };
}

/** Allowed Checks on the session, one after another; each also proves the earlier frames arrived. */
async function allowedChecks(session: http2.ClientHttp2Session, secret: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const check = checkInParts(session, secret);
    check.finish();
    expect(await check.outcome).toBe("allowed");
  }
}

describe("SIGTERM to a keygate process", () => {
  it("stops serving, refuses new connections, finishes the call in flight, flushes usage and exits 0 within the deadline", async () => {
    const SHUTDOWN_TIMEOUT_MS = 8_000;
    const CHECKS = 25;
    const keygate = await startKeygate({ KEYGATE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), KEYGATE_USAGE_FLUSH_INTERVAL_MS: "3600000" });
    const key = await createKey(keygate, "svc");

    // A gRPC health Watch and a WatchUsage stream (Connect JSON over HTTP/1.1, as the console reads it).
    const statuses: ServingStatus[] = [];
    const health = createClient(Health, createGrpcTransport({ baseUrl: keygate.url }));
    const healthEnded = (async () => {
      for await (const update of health.watch({})) statuses.push(update.status);
    })();
    healthEnded.catch(() => {}); // awaited below
    const usageWatch = createClient(KeyAdminService, createConnectTransport({ baseUrl: keygate.url, httpVersion: "1.1", interceptors: [bearer(adminSecret)] }));
    const usageEvents = usageWatch.watchUsage({ keyId: key.id })[Symbol.asyncIterator]();
    expect((await usageEvents.next()).done).toBe(false); // today's snapshot

    const session = http2.connect(keygate.url);
    const inFlight = checkInParts(session, key.secret);
    await allowedChecks(session, key.secret, CHECKS);
    await expect.poll(() => statuses).toEqual([ServingStatus.SERVING]);

    const sigtermAtMs = performance.now();
    keygate.kill("SIGTERM");

    await expect.poll(() => statuses, { timeout: 2_000 }).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    await refused(keygate.port, 2_000);
    expect(await usageEvents.next()).toEqual({ done: true, value: undefined });
    // The call in flight holds the shutdown; once its request is complete it gets its answer.
    expect(await Promise.race([keygate.exited, new Promise((resolve) => setTimeout(() => resolve("running"), 200))])).toBe("running");
    // The counts still wait in the process: the shutdown flush comes after the drain.
    expect(await storedRequests(key.id)).toBe(0);
    inFlight.finish();
    expect(await inFlight.outcome).toBe("allowed");
    await healthEnded;

    const exit = await keygate.exited;
    expect({ code: exit.code, signal: exit.signal }, keygate.output()).toEqual({ code: 0, signal: null });
    expect(exit.atMs - sigtermAtMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(await storedRequests(key.id)).toBe(CHECKS + 1);
  });

  it("cuts a call that never finishes at the deadline, flushes usage and still exits 0 right after it", async () => {
    const SHUTDOWN_TIMEOUT_MS = 1_500;
    const CHECKS = 10;
    const keygate = await startKeygate({ KEYGATE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), KEYGATE_USAGE_FLUSH_INTERVAL_MS: "3600000" });
    const key = await createKey(keygate, "stuck");
    const session = http2.connect(keygate.url);
    session.on("error", () => {}); // the server destroys it at the deadline
    const neverFinished = checkInParts(session, key.secret);
    await allowedChecks(session, key.secret, CHECKS);

    const sigtermAtMs = performance.now();
    keygate.kill("SIGTERM");

    await expect(neverFinished.outcome).rejects.toThrow();
    const exit = await keygate.exited;
    expect({ code: exit.code, signal: exit.signal }, keygate.output()).toEqual({ code: 0, signal: null });
    expect(exit.atMs - sigtermAtMs).toBeGreaterThan(SHUTDOWN_TIMEOUT_MS - 50);
    expect(exit.atMs - sigtermAtMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + EXIT_MARGIN_MS);
    expect(await storedRequests(key.id)).toBe(CHECKS);
  });
});

describe("SIGKILL to a keygate process", () => {
  it("loses at most the usage of its last flush interval, and never counts anything twice", async () => {
    const FLUSH_INTERVAL_MS = 300;
    const keygate = await startKeygate({ KEYGATE_USAGE_FLUSH_INTERVAL_MS: String(FLUSH_INTERVAL_MS) });
    const key = await createKey(keygate, "killed");
    const session = http2.connect(keygate.url);
    session.on("error", () => {}); // the process dies under it
    let answered = 0;
    const allowed = async () => {
      const check = checkInParts(session, key.secret);
      check.finish();
      expect(await check.outcome).toBe("allowed");
      answered++;
    };
    const started = performance.now();
    while (performance.now() - started < 2_000) await allowed();
    // Everything answered so far must reach the store by the periodic flush alone (no shutdown
    // flush: the process will be killed). Checks keep coming meanwhile, so the kill lands with
    // a flush interval's usage in memory; how long the flush takes on a busy machine does not
    // matter, only that it happens.
    const answeredBefore = answered;
    const deadline = performance.now() + 60_000;
    while ((await storedRequests(key.id)) < answeredBefore) {
      expect(performance.now(), "the periodic flush wrote what was answered").toBeLessThan(deadline);
      await allowed();
    }
    for (let i = 0; i < 20; i++) await allowed();
    keygate.kill("SIGKILL");
    expect((await keygate.exited).signal).toBe("SIGKILL");

    // What was flushed stays; what came after may be lost with the process; nothing counts twice.
    const stored = await storedRequests(key.id);
    expect(stored).toBeGreaterThanOrEqual(answeredBefore);
    expect(stored).toBeLessThanOrEqual(answered);
  });
});
