import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { HeaderValueOption } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import type { CommandIo } from "./command.js";
import { printFields } from "./output.js";

/**
 * What a CheckResponse means to the person trying a request: the decision, what the client would
 * get (status, JSON `code`, headers), what the upstream would get, and Envoy's dynamic metadata.
 * The same summary is printed for people or, with --json, as one JSON document.
 */
export interface CheckOutcome {
  decision: "allowed" | "denied";
  /** The status the client gets: the denial's, or 200 standing for "passed to the upstream". */
  httpStatus: number;
  /** The denial's JSON `code` (API_KEY_INVALID, …), or OK. */
  code: string;
  /** CheckResponse.status as a gRPC code name (OK, UNAUTHENTICATED, PERMISSION_DENIED). */
  grpcStatus: string;
  message: string;
  /** Added to the request before it goes upstream (allowed only). */
  upstreamHeaders: Record<string, string>;
  /** Removed from the request before it goes upstream (allowed only): the key's header. */
  removedHeaders: string[];
  /** Sent to the client: with the upstream's answer, or with the denial. */
  responseHeaders: Record<string, string>;
  /** The denial's body as the client gets it. */
  body?: string;
  dynamicMetadata: JsonObject;
}

const headerRecord = (options: readonly HeaderValueOption[]): Record<string, string> =>
  Object.fromEntries(options.flatMap((option) => (option.header ? [[option.header.key, option.header.value]] : [])));

/** `PermissionDenied` → `PERMISSION_DENIED`, the spelling of gRPC's documentation and grpcurl. */
const grpcName = (code: number): string => (code === 0 ? "OK" : (Code[code] ?? String(code)).replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase());

function denialCode(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

export function checkOutcome(response: CheckResponse): CheckOutcome {
  const status = response.status?.code ?? 0;
  const metadata = response.dynamicMetadata ?? {};
  const http = response.httpResponse;
  if (status === 0) {
    const ok = http.case === "okResponse" ? http.value : undefined;
    return {
      decision: "allowed",
      httpStatus: 200,
      code: "OK",
      grpcStatus: "OK",
      message: "allowed: Envoy passes the request to the upstream",
      upstreamHeaders: headerRecord(ok?.headers ?? []),
      removedHeaders: [...(ok?.headersToRemove ?? [])],
      responseHeaders: headerRecord(ok?.responseHeadersToAdd ?? []),
      dynamicMetadata: metadata,
    };
  }
  const denied = http.case === "deniedResponse" ? http.value : undefined;
  const body = denied?.body ?? "";
  return {
    decision: "denied",
    // Envoy answers 403 when a denial names no status.
    httpStatus: denied?.status?.code || 403,
    code: denialCode(body) ?? grpcName(status),
    grpcStatus: grpcName(status),
    message: response.status?.message ?? "",
    upstreamHeaders: {},
    removedHeaders: [],
    responseHeaders: headerRecord(denied?.headers ?? []),
    body,
    dynamicMetadata: metadata,
  };
}

function section(io: CommandIo, title: string, entries: readonly (readonly [string, string])[]): void {
  if (entries.length === 0) return;
  io.out(`\n${title}:\n`);
  printFields(io, entries.map(([name, value]) => [`  ${name}`, value]));
}

export function printCheckOutcome(io: CommandIo, outcome: CheckOutcome): void {
  printFields(io, [
    ["decision", outcome.decision],
    ["http status", String(outcome.httpStatus)],
    ["code", `${outcome.code} (gRPC ${outcome.grpcStatus})`],
    ["message", outcome.message],
  ]);
  section(io, "headers added to the upstream request", Object.entries(outcome.upstreamHeaders));
  section(io, "headers removed from the upstream request", outcome.removedHeaders.map((name) => [name, "(removed)"]));
  section(io, outcome.decision === "allowed" ? "headers added to the response" : "response headers", Object.entries(outcome.responseHeaders));
  if (outcome.body) io.out(`\nresponse body:\n  ${outcome.body}\n`);
  section(
    io,
    "dynamic metadata (envoy.filters.http.ext_authz)",
    Object.entries(outcome.dynamicMetadata).map(([name, value]) => [name, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}
