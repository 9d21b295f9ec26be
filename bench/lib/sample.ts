import * as grpc from "@grpc/grpc-js";
import { decodeCheckResponse, outcomeOf } from "./requests.js";

/**
 * Checks what a server really decides for a request body: sends it with a plain @grpc/grpc-js
 * client and counts the outcomes ("allowed" or the denial code), since h2load sees only HTTP 200.
 */
export async function sampleOutcomes(port: number, message: Uint8Array, count: number): Promise<Record<string, number>> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const outcomes: Record<string, number> = {};
  try {
    for (let i = 0; i < count; i++) {
      const outcome = await new Promise<string>((resolve) =>
        client.makeUnaryRequest(
          "/envoy.service.auth.v3.Authorization/Check",
          (bytes: Uint8Array) => Buffer.from(bytes),
          (bytes: Buffer) => bytes,
          message,
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (error, response) => resolve(error ? `grpc error ${grpc.status[error.code]}` : outcomeOf(decodeCheckResponse(response!))),
        ),
      );
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
  } finally {
    client.close();
  }
  return outcomes;
}
