import { parentPort, workerData } from "node:worker_threads";
import { H2Connection } from "./h2-connection.js";
import type { RequestTemplate } from "./h2-wire.js";
import { keyChooser, type TrafficShape } from "./key-choice.js";
import { decodeCheckResponse, outcomeOf } from "./requests.js";
import { SECRET_LENGTH } from "./secret-table.js";

/**
 * One thread of the frame generator (frame-load.ts): `sessions` HTTP/2 connections
 * (h2-connection.ts), `streams` requests in flight on each. Every in-flight slot (a lane) owns one
 * copy of the pre-encoded request and, before each request, writes the chosen key's secret and the
 * stream id into it in place: the lane's previous request has been answered, so its bytes are no
 * longer in use. No protobuf encoding, no per-key frame, nothing allocated per request but a
 * small record of the exchange.
 *
 * Commands from the bench: `warm` (one request for each key of this thread's slice of the keys in
 * use, so every key is cached), `run` (as many requests as the server answers for a duration,
 * recording each one's latency), `close`. Every `sampleEvery`th answer is decoded and its decision
 * counted.
 */

export interface FrameLoadWorkerData {
  port: number;
  sessions: number;
  streams: number;
  /** The request (h2-wire.ts; Buffers arrive as Uint8Arrays) and where its secret starts in it. */
  request: Omit<RequestTemplate, "bytes"> & { bytes: Uint8Array };
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
  /** Why a connection went away before the end (the server exited), if one did. */
  lost?: string;
}

const data = workerData as FrameLoadWorkerData;
const template: RequestTemplate = { ...data.request, bytes: Buffer.from(data.request.bytes) };
const secrets = Buffer.from(data.secrets);
const choose = keyChooser(data.shape, secrets.length / SECRET_LENGTH, data.seed);

/** The state of one command's window, shared by its lanes. */
interface Window {
  /** The next key: from the warm slice in order, or chosen; undefined when the window is over. */
  next(): number | undefined;
  issued: number;
  requests: number;
  failed: number;
  latenciesUs: Float64Array;
  outcomes: Record<string, number>;
  lanesRunning: number;
  finished(): void;
}

function record(window: Window, latencyUs: number, ok: boolean, message: Buffer[] | null): void {
  if (window.requests === window.latenciesUs.length) {
    const grown = new Float64Array(window.latenciesUs.length * 2);
    grown.set(window.latenciesUs);
    window.latenciesUs = grown;
  }
  window.latenciesUs[window.requests++] = latencyUs;
  if (!ok) window.failed++;
  else if (message !== null) {
    const outcome = outcomeOf(decodeCheckResponse(Buffer.concat(message).subarray(5)));
    window.outcomes[outcome] = (window.outcomes[outcome] ?? 0) + 1;
  }
}

/** One lane: a request at a time on `connection`, from its own copy of the request bytes. */
function runLane(window: Window, connection: H2Connection, bytes: Buffer): void {
  let sent = 0;
  const answered = (ok: boolean, message: Buffer[] | null) => {
    record(window, (performance.now() - sent) * 1000, ok, message);
    sendNext();
  };
  const sendNext = () => {
    const key = connection.lost === undefined ? window.next() : undefined;
    if (key === undefined) {
      if (--window.lanesRunning === 0) window.finished();
      return;
    }
    secrets.copy(bytes, data.secretOffset, key * SECRET_LENGTH, (key + 1) * SECRET_LENGTH);
    sent = performance.now();
    connection.send(bytes, window.issued++ % data.sampleEvery === 0, answered);
  };
  sendNext();
}

const lanes = Array.from({ length: data.sessions * data.streams }, () => Buffer.from(template.bytes));
let connections: H2Connection[] = [];

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
      lanesRunning: lanes.length,
      finished: () => {
        const lost = connections.find((c) => c.lost !== undefined)?.lost;
        resolve({
          type: "done",
          requests: window.requests,
          failed: window.failed,
          durationS: (performance.now() - started) / 1000,
          latenciesUs: window.latenciesUs.slice(0, window.requests),
          outcomes: window.outcomes,
          ...(lost !== undefined && { lost }),
        });
      },
    };
    lanes.forEach((bytes, i) => runLane(window, connections[i % connections.length]!, bytes));
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
    for (const connection of connections) connection.close();
    parentPort!.close();
  }
});
Promise.all(Array.from({ length: data.sessions }, () => H2Connection.open(data.port, template))).then(
  (opened) => {
    connections = opened;
    parentPort!.postMessage({ type: "ready" });
  },
  (error: unknown) => {
    throw error;
  },
);
