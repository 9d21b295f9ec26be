import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Authorization, CheckRequestSchema, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";

/** The JSON `code` of a denial, or "allowed". */
export function outcome(response: CheckResponse): string {
  if (response.status?.code === 0) return "allowed";
  const body = response.httpResponse.case === "deniedResponse" ? response.httpResponse.value.body : "";
  return (JSON.parse(body) as { error: { code: string } }).error.code;
}

/**
 * Check over gRPC against one replica: the outcome for a secret, from a source address. With
 * `timeoutMs` a call gives up (deadline_exceeded) instead of waiting for a hung server forever.
 */
export function checker(baseUrl: string, options: { timeoutMs?: number } = {}): (secret: string, sourceIp?: string) => Promise<string> {
  const authz = createClient(Authorization, createGrpcTransport({ baseUrl }));
  return async (secret, sourceIp = "10.1.2.3") =>
    outcome(
      await authz.check(
        create(CheckRequestSchema, {
          attributes: {
            source: { address: { address: { case: "socketAddress", value: { address: sourceIp, portSpecifier: { case: "portValue", value: 5555 } } } } },
            request: { http: { method: "GET", path: "/machines/42", host: "api.example.com", headers: { "x-api-key": secret, ":path": "/machines/42" } } },
            contextExtensions: { required_scopes: "machines:read" },
          },
        }),
        { timeoutMs: options.timeoutMs },
      ),
    );
}

/** Calls `probe` until it returns `want` or `deadlineMs` passes; the milliseconds it took. */
export async function within(deadlineMs: number, want: string, probe: () => Promise<string>): Promise<number> {
  const started = performance.now();
  let last = "";
  while (performance.now() - started < deadlineMs) {
    last = await probe();
    if (last === want) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`still ${last}, not ${want}, after ${deadlineMs} ms`);
}
