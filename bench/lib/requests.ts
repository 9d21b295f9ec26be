import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CheckRequestSchema, CheckResponseSchema, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { REQUIRED_SCOPE } from "./keys.js";

/**
 * CheckRequests shaped like Envoy's: the request's pseudo and ordinary headers (lowercase), a
 * query string, x-forwarded-for and x-request-id, the TCP peer in source.address, and the
 * per-route required scope in context_extensions. About 700 bytes on the wire, like a real one.
 */
export function envoyCheckRequest(secret: string): Uint8Array {
  const path = "/v1/machines/m-0042/tags?page=2&per_page=50";
  const request = create(CheckRequestSchema, {
    attributes: {
      source: { address: { address: { case: "socketAddress", value: { address: "203.0.113.17", portSpecifier: { case: "portValue", value: 51234 } } } } },
      destination: { address: { address: { case: "socketAddress", value: { address: "10.0.0.10", portSpecifier: { case: "portValue", value: 8443 } } } } },
      request: {
        http: {
          id: "7d0b6d8e-5a43-4b8b-9f3e-1c1f0c3a8f11",
          method: "GET",
          path,
          host: "api.example.com",
          scheme: "https",
          protocol: "HTTP/2",
          headers: {
            ":authority": "api.example.com",
            ":method": "GET",
            ":path": path,
            ":scheme": "https",
            accept: "application/json",
            "accept-encoding": "gzip, deflate, br",
            "user-agent": "acme-sdk/4.2.1 (linux; node 20)",
            "x-api-key": secret,
            "x-forwarded-for": "203.0.113.17",
            "x-forwarded-proto": "https",
            "x-request-id": "7d0b6d8e-5a43-4b8b-9f3e-1c1f0c3a8f11",
            "x-envoy-expected-rq-timeout-ms": "15000",
          },
        },
      },
      contextExtensions: { required_scopes: REQUIRED_SCOPE },
    },
  });
  return toBinary(CheckRequestSchema, request);
}

/** A gRPC length-prefixed message: flag 0 (not compressed), 4-byte big-endian length, bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** What a CheckResponse tells the client: "allowed" or the denial code from the JSON body. */
export function outcomeOf(response: CheckResponse): string {
  const http = response.httpResponse;
  if (http.case === "okResponse") return response.status?.code === 0 ? "allowed" : "inconsistent";
  if (http.case === "deniedResponse") {
    try {
      return (JSON.parse(http.value.body) as { error: { code: string } }).error.code;
    } catch {
      return "unparsable body";
    }
  }
  return response.status?.code === 0 ? "allowed" : `status ${response.status?.code}`;
}

export const decodeCheckResponse = (bytes: Uint8Array): CheckResponse => fromBinary(CheckResponseSchema, bytes);

/**
 * The answer the baselines give to every Check: an allow as keygate sends it (identity headers,
 * the key header removed, rate-limit headers, dynamic metadata), so every server under test puts
 * the same bytes on the wire.
 */
export function fixedOkResponse(): CheckResponse {
  const option = (key: string, value: string) => ({ header: { key, value }, append: false });
  return create(CheckResponseSchema, {
    status: { code: 0 },
    httpResponse: {
      case: "okResponse",
      value: {
        headers: [option("x-keygate-key-id", "key_01KBENCH0000000000000000000"), option("x-keygate-organization-id", "org_01KBENCH0000000000000000000")],
        headersToRemove: ["x-api-key"],
        responseHeadersToAdd: [option("x-ratelimit-limit", "1000000000"), option("x-ratelimit-remaining", "999999999"), option("x-ratelimit-reset", "3600")],
      },
    },
    dynamicMetadata: {
      key_id: "key_01KBENCH0000000000000000000",
      organization_id: "org_01KBENCH0000000000000000000",
      scopes: "machines:read machines:write tags:read",
    },
  });
}
