import { parentPort, workerData } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import { benchSecret } from "./keys.js";
import { decodeCheckResponse, envoyCheckRequest, outcomeOf } from "./requests.js";

/**
 * One thread of the @grpc/grpc-js load generator: `connections` separate HTTP/2 connections,
 * `streams` calls in flight on each, cycling through the keys [from, to) of the population.
 * First one pass over every key (so each is cached), then the timed window, recording each call's
 * latency in microseconds and decoding every 256th response to count the decisions.
 */

export interface GrpcLoadWorkerData {
  port: number;
  seed: string;
  from: number;
  to: number;
  connections: number;
  streams: number;
  warm: boolean;
  durationMs: number;
}

export interface GrpcLoadWorkerResult {
  requests: number;
  failed: number;
  durationS: number;
  latenciesUs: Float64Array;
  outcomes: Record<string, number>;
}

const data = workerData as GrpcLoadWorkerData;
const messages: Buffer[] = [];
for (let i = data.from; i < data.to; i++) messages.push(Buffer.from(envoyCheckRequest(benchSecret(data.seed, i))));

const clients = Array.from(
  { length: data.connections },
  (_, i) =>
    // A distinct option per client keeps grpc-js from sharing one connection between them.
    new grpc.Client(`127.0.0.1:${data.port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1, "bench.connection": i }),
);

const identity = (bytes: Buffer) => bytes;
function call(client: grpc.Client, message: Buffer): Promise<Buffer | grpc.ServiceError> {
  return new Promise((resolve) =>
    client.makeUnaryRequest("/envoy.service.auth.v3.Authorization/Check", identity, identity, message, (error, response) => resolve(error ?? response!)),
  );
}

async function run(): Promise<GrpcLoadWorkerResult> {
  let next = 0;
  const take = () => messages[next++ % messages.length]!;
  if (data.warm) {
    let index = 0;
    await Promise.all(
      Array.from({ length: data.connections * data.streams }, async (_, lane) => {
        const client = clients[lane % clients.length]!;
        while (index < messages.length) await call(client, messages[index++]!);
      }),
    );
  }
  let latencies = new Float64Array(1 << 16);
  let requests = 0;
  let failed = 0;
  const outcomes: Record<string, number> = {};
  const started = performance.now();
  const endAt = started + data.durationMs;
  await Promise.all(
    Array.from({ length: data.connections * data.streams }, async (_, lane) => {
      const client = clients[lane % clients.length]!;
      while (performance.now() < endAt) {
        const sent = performance.now();
        const response = await call(client, take());
        if (requests === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[requests++] = (performance.now() - sent) * 1000;
        if (!Buffer.isBuffer(response)) failed++;
        else if ((requests & 255) === 0) {
          const outcome = outcomeOf(decodeCheckResponse(response));
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
      }
    }),
  );
  const durationS = (performance.now() - started) / 1000;
  for (const client of clients) client.close();
  return { requests, failed, durationS, latenciesUs: latencies.slice(0, requests), outcomes };
}

run().then(
  (result) => parentPort!.postMessage(result, [result.latenciesUs.buffer as ArrayBuffer]),
  (error: unknown) => {
    throw error;
  },
);
