import { create } from "@bufbuild/protobuf";
import { isIP } from "node:net";
import { CheckRequestSchema, type CheckRequest } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { UsageError } from "./command.js";

/**
 * `keygate check`'s flags → the CheckRequest Envoy's ext_authz filter would send for that HTTP
 * request: the client's address as the downstream peer, the pseudo-headers beside the others,
 * and the route's required scopes as context_extensions, so every denial can be tried by hand.
 */

export interface CheckFlags {
  key: string;
  method: string;
  path: string;
  ip: string;
  host: string;
  headers: readonly string[];
  requiredScopes: readonly string[] | undefined;
}

/** RFC 9110 token: what a method and a header name may be spelled with. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A value a proxy would pass on: no CR, LF or NUL (they would split or end the header). */
const HEADER_VALUE = /^[^\r\n\0]*$/;

function header(raw: string): [name: string, value: string] {
  const at = raw.indexOf("=");
  const name = at > 0 ? raw.slice(0, at).trim().toLowerCase() : "";
  if (!TOKEN.test(name)) throw new UsageError(`--header must look like name=value, got ${JSON.stringify(raw.slice(0, Math.max(at, 0)) || raw.slice(0, 40))}`);
  const value = raw.slice(at + 1);
  if (!HEADER_VALUE.test(value)) throw new UsageError(`--header ${name}: the value holds a line break or NUL`);
  return [name, value];
}

export function checkRequest(flags: CheckFlags): CheckRequest {
  if (flags.key === "") throw new UsageError("--key is empty");
  if (!TOKEN.test(flags.method)) throw new UsageError(`--method must be an HTTP method such as GET or POST, got ${JSON.stringify(flags.method)}`);
  if (!flags.path.startsWith("/") || !HEADER_VALUE.test(flags.path)) throw new UsageError(`--path must start with /, got ${JSON.stringify(flags.path)}`);
  if (isIP(flags.ip) === 0) throw new UsageError(`--ip must be an IPv4 or IPv6 address, got ${JSON.stringify(flags.ip)}`);
  const headers: Record<string, string> = {
    ":authority": flags.host,
    ":method": flags.method,
    ":path": flags.path,
    ":scheme": "http",
    "x-api-key": flags.key,
  };
  for (const raw of flags.headers) {
    const [name, value] = header(raw);
    if (name.startsWith(":")) throw new UsageError(`--header ${name}: pseudo-headers come from --method and --path`);
    headers[name] = value;
  }
  return create(CheckRequestSchema, {
    attributes: {
      source: { address: { address: { case: "socketAddress", value: { address: flags.ip, portSpecifier: { case: "portValue", value: 50_000 } } } } },
      request: {
        http: { method: flags.method, path: flags.path, host: flags.host, scheme: "http", protocol: "HTTP/1.1", headers },
      },
      contextExtensions: flags.requiredScopes === undefined ? {} : { required_scopes: flags.requiredScopes.join(" ") },
    },
  });
}
