import { Worker } from "node:worker_threads";
import { requestTemplate, type RequestTemplate } from "./h2-wire.js";
import type { FrameLoadCommand, FrameLoadWorkerData, FrameLoadWorkerResult } from "./frame-load-worker.js";
import type { TrafficShape } from "./key-choice.js";
import { summarizeLatencies, type LoadResult } from "./load-result.js";
import { envoyCheckRequest, grpcFrame } from "./requests.js";
import { SECRET_LENGTH } from "./secret-table.js";

/**
 * The frame generator: HTTP/2 connections in worker threads (frame-load-worker.ts) sending one
 * pre-encoded request (HEADERS and DATA frames) whose secret is patched per request, for traffic
 * spread over many keys at a cost per request below the server's. The @grpc/grpc-js client it
 * replaces spent more CPU per call than keygate did and capped the spread cases at its own speed;
 * so did node:http2's client (h2-connection.ts says by how much).
 *
 * `generatorCpuUs` is the CPU of the whole bench process (every thread) over the window: its
 * main thread only waits, so this is the generator's cost, shown beside the server's.
 */

export interface FrameLoadOptions {
  port: number;
  /** The keys in use (secret-table.ts) and how requests spread over them. */
  secrets: SharedArrayBuffer;
  shape: TrafficShape;
  seed: number;
  threads: number;
  /** Per thread. */
  sessions: number;
  streams: number;
}

export interface FrameLoad {
  /** One request per key in use, so every key is cached; its result, with the time it took. */
  warm(): Promise<LoadResult>;
  run(durationS: number): Promise<LoadResult & { generatorCpuUs: number }>;
  close(): void;
}

/** Decode one response in this many: enough to catch a wrong decision, cheap beside the load. */
const SAMPLE_EVERY = 256;
const CHECK_PATH = "/envoy.service.auth.v3.Authorization/Check";

/** The request with the first key's secret, and where that secret sits in its bytes. */
function template(port: number, secrets: SharedArrayBuffer): { request: RequestTemplate; secretOffset: number } {
  const secret = Buffer.from(secrets, 0, SECRET_LENGTH);
  const request = requestTemplate(`127.0.0.1:${port}`, CHECK_PATH, grpcFrame(envoyCheckRequest(secret.toString("latin1"))));
  const secretOffset = request.bytes.indexOf(secret);
  if (secretOffset < 0 || request.bytes.indexOf(secret, secretOffset + 1) >= 0) throw new Error("the request must hold the secret exactly once");
  return { request, secretOffset };
}

function merge(results: readonly FrameLoadWorkerResult[]): LoadResult {
  const lost = results.find((r) => r.lost !== undefined)?.lost;
  if (lost !== undefined) throw new Error(`the server went away during the load: ${lost}`);
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const durationS = Math.max(...results.map((r) => r.durationS));
  const all = new Float64Array(requests);
  let offset = 0;
  const outcomes: Record<string, number> = {};
  for (const result of results) {
    all.set(result.latenciesUs, offset);
    offset += result.latenciesUs.length;
    for (const [outcome, count] of Object.entries(result.outcomes)) outcomes[outcome] = (outcomes[outcome] ?? 0) + count;
  }
  return { requests, failed: results.reduce((sum, r) => sum + r.failed, 0), durationS, rps: requests / durationS, ...summarizeLatencies(all), outcomes };
}

export async function startFrameLoad(options: FrameLoadOptions): Promise<FrameLoad> {
  const { request, secretOffset } = template(options.port, options.secrets);
  const keys = options.secrets.byteLength / SECRET_LENGTH;
  const workers = Array.from({ length: options.threads }, (_, t) => {
    const data: FrameLoadWorkerData = {
      port: options.port,
      sessions: options.sessions,
      streams: options.streams,
      request,
      secretOffset,
      secrets: options.secrets,
      shape: options.shape,
      seed: options.seed + t,
      warmFrom: Math.floor((keys * t) / options.threads),
      warmTo: Math.floor((keys * (t + 1)) / options.threads),
      sampleEvery: SAMPLE_EVERY,
    };
    return new Worker(new URL("./frame-load-worker.js", import.meta.url), { workerData: data });
  });
  const next = (worker: Worker) =>
    new Promise<FrameLoadWorkerResult>((resolve, reject) => {
      const onError = (error: Error) => (worker.off("message", onMessage), reject(error));
      const onMessage = (result: FrameLoadWorkerResult) => (worker.off("error", onError), resolve(result));
      worker.once("message", onMessage);
      worker.once("error", onError);
    });
  await Promise.all(workers.map(next));
  const command = (message: FrameLoadCommand) =>
    Promise.all(
      workers.map((worker) => {
        const result = next(worker);
        worker.postMessage(message);
        return result;
      }),
    );
  return {
    warm: async () => merge(await command({ type: "warm" })),
    run: async (durationS) => {
      const before = process.cpuUsage();
      const results = await command({ type: "run", durationMs: durationS * 1000 });
      const used = process.cpuUsage(before);
      return { ...merge(results), generatorCpuUs: used.user + used.system };
    },
    close: () => workers.forEach((worker) => worker.postMessage({ type: "close" } satisfies FrameLoadCommand)),
  };
}
