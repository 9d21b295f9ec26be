import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { expect } from "vitest";
import { CheckResponseSchema, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { DENIALS, type DenialCode } from "../../src/model/denials.js";

/**
 * What every CheckResponse must look like, whatever the request: it survives the wire, says
 * allow (status 0 with ok_response) or deny (16 or 7 with a denied_response carrying the HTTP
 * status, a JSON body with a known code, content-type), and sets `append` explicitly on every
 * header (checked after a binary round trip, so presence on the wire is what is tested).
 */
export function expectWellFormed(response: CheckResponse): void {
  const wire = fromBinary(CheckResponseSchema, toBinary(CheckResponseSchema, response));
  const code = wire.status?.code ?? 0;
  const http = wire.httpResponse;
  if (code === 0) {
    expect(http.case).toBe("okResponse");
    if (http.case !== "okResponse") return;
    for (const option of [...http.value.headers, ...http.value.responseHeadersToAdd]) expect(option.append).toBe(false);
    expect(http.value.headersToRemove.length).toBeGreaterThanOrEqual(1);
    expect(wire.dynamicMetadata?.["key_id"]).toEqual(expect.stringMatching(/^key_/));
    return;
  }
  expect([16, 7]).toContain(code);
  expect(http.case).toBe("deniedResponse");
  if (http.case !== "deniedResponse") return;
  const body = JSON.parse(http.value.body) as { error: { code: DenialCode; message: string } };
  const denial = DENIALS[body.error.code];
  expect(denial, body.error.code).toBeDefined();
  // RATE_LIMITED names the limit that ran out: the key's or its identity's.
  const message = body.error.code === "RATE_LIMITED" ? /^The API key's (identity's )?rate limit "[A-Za-z0-9_.-]{1,64}" is exceeded; retry after the time in the Retry-After header\.$/ : denial.message;
  expect(body.error.message).toMatch(message);
  expect(http.value.status?.code).toBe(denial.httpStatus);
  expect(code).toBe(denial.grpcCode);
  expect(code).toBe(denial.httpStatus === 401 ? 16 : 7);
  expect(wire.status?.message).toBe(body.error.message);
  for (const option of http.value.headers) expect(option.append).toBe(false);
  const headers = new Map(http.value.headers.map((option) => [option.header?.key, option.header?.value]));
  expect(headers.get("content-type")).toBe("application/json");
  if (denial.httpStatus === 429) {
    expect(Number(headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    for (const name of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]) expect(headers.get(name), name).toMatch(/^\d+$/);
    // The IETF fields never name the organization's limits: a QUOTA_EXCEEDED has no RateLimit.
    if (body.error.code === "QUOTA_EXCEEDED") expect(headers.has("ratelimit"), "ratelimit").toBe(false);
    else expect(headers.get("ratelimit"), "ratelimit").toMatch(/^"[A-Za-z0-9_.-]+";r=\d+;t=\d+$|^"identity:[A-Za-z0-9_.-]+";r=\d+;t=\d+$/);
    const policy = headers.get("ratelimit-policy");
    if (policy !== undefined) expect(policy, "ratelimit-policy").toMatch(/^"[A-Za-z0-9_.:-]+";q=\d+(;w=\d+)?(, "[A-Za-z0-9_.:-]+";q=\d+(;w=\d+)?)*$/);
    expect(policy ?? "", "ratelimit-policy").not.toContain("organization:");
  }
  expect(wire.dynamicMetadata?.["code"]).toBe(body.error.code);
  expect(wire.dynamicMetadata?.["decision_id"]).toEqual(expect.any(String));
}
