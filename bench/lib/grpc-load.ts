import { Worker } from "node:worker_threads";
import type { GrpcLoadWorkerData, GrpcLoadWorkerResult } from "./grpc-load-worker.js";
import { summarizeLatencies, type LoadResult } from "./load-result.js";

/**
 * The load generator for what h2load cannot express: a different key on each request. A
 * multi-connection @grpc/grpc-js client in worker threads, each thread owning a slice of the keys.
 */
export interface GrpcLoadOptions {
  port: number;
  seed: string;
  keys: number;
  threads: number;
  /** Per thread. */
  connections: number;
  streams: number;
  durationS: number;
  /** One call per key before the timed window, so every key is cached. */
  warm: boolean;
}

export async function runGrpcLoad(options: GrpcLoadOptions): Promise<LoadResult> {
  const perThread = Math.ceil(options.keys / options.threads);
  const results = await Promise.all(
    Array.from({ length: options.threads }, (_, t) => {
      const data: GrpcLoadWorkerData = {
        port: options.port,
        seed: options.seed,
        from: t * perThread,
        to: Math.min(options.keys, (t + 1) * perThread),
        connections: options.connections,
        streams: options.streams,
        warm: options.warm,
        durationMs: options.durationS * 1000,
      };
      return new Promise<GrpcLoadWorkerResult>((resolve, reject) => {
        const worker = new Worker(new URL("./grpc-load-worker.js", import.meta.url), { workerData: data });
        worker.once("message", resolve);
        worker.once("error", reject);
      });
    }),
  );
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
  return {
    requests,
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    durationS,
    rps: requests / durationS,
    ...summarizeLatencies(all),
    outcomes,
  };
}
