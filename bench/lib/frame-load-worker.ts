import http2 from "node:http2";
import { parentPort, workerData } from "node:worker_threads";
import { keyChooser, type TrafficShape } from "./key-choice.js";
import { decodeCheckResponse, outcomeOf } from "./requests.js";
import { SECRET_LENGTH } from "./secret-table.js";

/**
 * One thread of the frame generator (frame-load.ts): `sessions` raw node:http2 client sessions,
 * `streams` requests in flight on each. Every in-flight slot (a lane) owns one copy of the
 * pre-encoded request frame and, before each request, writes the chosen key's secret into it in
 * place: the previous request of that lane has been answered, so its bytes are no longer in use.
 * No protobuf encoding, no gRPC library, nothing allocated per request but node:http2's own.
 *
 * Commands from the bench: `warm` (one request for each key of this thread's slice of the keys in
 * use, so every key is cached), `run` (as many requests as the server answers for a duration,
 * recording each one's latency), `close`. Every `sampleEvery`th response is decoded and its decision
 * counted; a gRPC status other than 0, a reset stream or an HTTP status other than 200 is a failure.
 */

export interface FrameLoadWorkerData {
  port: number;
  sessions: number;
  streams: number;
  /** The request frame (5-byte gRPC prefix and CheckRequest) and where its secret starts. */
  frame: Uint8Array;
  secretOffset: number;
  /** SECRET_LENGTH bytes per key in use (secret-table.ts). */
  secrets: SharedArrayBuffer;
  shape: TrafficShape;
  seed: number;
  /** This thread's slice of the keys in use for the warm pass. */
  warmFrom: number;
  warmTo: number;
  sampleEvery: number;
}

export type FrameLoadCommand = { type: "warm" } | { type: "run"; durationMs: number } | { type: "close" };

export interface FrameLoadWorkerResult {
  type: "done";
  requests: number;
  failed: number;
  durationS: number;
  latenciesUs: Float64Array;
  outcomes: Record<string, number>;
  /** Why the sessions went away before the end (the server exited), if they did. */
  lost?: string;
}

const data = workerData as FrameLoadWorkerData;
const secrets = Buffer.from(data.secrets);
const keysInUse = secrets.length / SECRET_LENGTH;
const choose = keyChooser(data.shape, keysInUse, data.seed);
const HEADERS = {
  ":method": "POST",
  ":path": "/envoy.service.auth.v3.Authorization/Check",
  "content-type": "application/grpc",
  te: "trailers",
};

let lost: string | undefined;
const sessions = Array.from({ length: data.sessions }, () => {
  const session = http2.connect(`http://127.0.0.1:${data.port}`);
  session.on("error", (error) => (lost ??= error.message));
  session.on("close", () => (lost ??= "session closed"));
  return session;
});

/** The state of one command's window, shared by its lanes. */
interface Window {
  /** The next key: from the warm slice in order, or chosen. */
  next(): number | undefined;
  issued: number;
  requests: number;
  failed: number;
  latenciesUs: Float64Array;
  outcomes: Record<string, number>;
  lanesRunning: number;
  finished(): void;
}

function record(window: Window, latencyUs: number, ok: boolean, body: Buffer[] | null): void {
  if (window.requests === window.latenciesUs.length) {
    const grown = new Float64Array(window.latenciesUs.length * 2);
    grown.set(window.latenciesUs);
    window.latenciesUs = grown;
  }
  window.latenciesUs[window.requests++] = latencyUs;
  if (!ok) window.failed++;
  else if (body !== null) {
    const outcome = outcomeOf(decodeCheckResponse(Buffer.concat(body).subarray(5)));
    window.outcomes[outcome] = (window.outcomes[outcome] ?? 0) + 1;
  }
}

/** One lane: a request at a time on `session`, from its own copy of the frame. */
function lane(window: Window, session: http2.ClientHttp2Session, frame: Buffer): void {
  const key = lost === undefined ? window.next() : undefined;
  if (key === undefined) {
    if (--window.lanesRunning === 0) window.finished();
    return;
  }
  secrets.copy(frame, data.secretOffset, key * SECRET_LENGTH, (key + 1) * SECRET_LENGTH);
  const sampled = window.issued++ % data.sampleEvery === 0;
  const body: Buffer[] | null = sampled ? [] : null;
  let ok = false;
  const sent = performance.now();
  const stream = session.request(HEADERS);
  stream.on("response", (headers) => {
    // A trailers-only answer carries grpc-status in the headers.
    ok = headers[":status"] === 200 && (headers["grpc-status"] === undefined || headers["grpc-status"] === "0");
  });
  stream.on("trailers", (trailers) => (ok &&= trailers["grpc-status"] === "0"));
  stream.on("data", (chunk: Buffer) => body?.push(chunk));
  stream.on("error", () => (ok = false));
  stream.on("close", () => {
    record(window, (performance.now() - sent) * 1000, ok && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR, body);
    lane(window, session, frame);
  });
  stream.end(frame);
}

const frames = Array.from({ length: data.sessions * data.streams }, () => Buffer.from(data.frame));

function start(next: () => number | undefined): Promise<FrameLoadWorkerResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const window: Window = {
      next,
      issued: 0,
      requests: 0,
      failed: 0,
      latenciesUs: new Float64Array(1 << 16),
      outcomes: {},
      lanesRunning: frames.length,
      finished: () =>
        resolve({
          type: "done",
          requests: window.requests,
          failed: window.failed,
          durationS: (performance.now() - started) / 1000,
          latenciesUs: window.latenciesUs.slice(0, window.requests),
          outcomes: window.outcomes,
          ...(lost !== undefined && { lost }),
        }),
    };
    frames.forEach((frame, i) => lane(window, sessions[i % sessions.length]!, frame));
  });
}

function warm(): Promise<FrameLoadWorkerResult> {
  let cursor = data.warmFrom;
  return start(() => (cursor < data.warmTo ? cursor++ : undefined));
}

function run(durationMs: number): Promise<FrameLoadWorkerResult> {
  const endAt = performance.now() + durationMs;
  return start(() => (performance.now() < endAt ? choose() : undefined));
}

const reply = (result: FrameLoadWorkerResult) => parentPort!.postMessage(result, [result.latenciesUs.buffer as ArrayBuffer]);
parentPort!.on("message", (command: FrameLoadCommand) => {
  if (command.type === "warm") void warm().then(reply);
  else if (command.type === "run") void run(command.durationMs).then(reply);
  else {
    for (const session of sessions) session.close();
    parentPort!.close();
  }
});
// Ready when every session is connected or gone (a session that failed is reported by the first command).
void Promise.all(
  sessions.map((session) => new Promise<void>((resolve) => (session.once("connect", () => resolve()), session.once("close", () => resolve())))),
).then(() => parentPort!.postMessage({ type: "ready" }));
