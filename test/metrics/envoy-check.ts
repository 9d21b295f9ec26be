import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Authorization, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";

/**
 * Check as Envoy calls it, through keygate's real port: the generated Authorization client over
 * gRPC (HTTP/2 cleartext), one request shaped like Envoy's for a secret, a method and a path.
 */
export function envoyCheck(baseUrl: string): { check(secret: string | undefined, path?: string, method?: string): Promise<CheckResponse> } {
  const client: Client<typeof Authorization> = createClient(Authorization, createGrpcTransport({ baseUrl }));
  return {
    check: (secret, path = "/v1/machines", method = "GET") =>
      client.check({
        attributes: {
          source: { address: { address: { case: "socketAddress", value: { address: "203.0.113.7", portSpecifier: { case: "portValue", value: 50_000 } } } } },
          request: {
            http: {
              id: `req-${Math.random().toString(36).slice(2)}`,
              method,
              path,
              host: "api.example.com",
              scheme: "https",
              protocol: "HTTP/1.1",
              headers: { ":method": method, ":path": path, ...(secret !== undefined && { "x-api-key": secret }) },
            },
          },
        },
      }),
  };
}
