import { fromJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { generateSecret } from "../../src/keys/secret.js";
import { createHarness, headerMap, loadFixtures, outcomeOf, substitute } from "./check-harness.js";
import { expectWellFormed } from "./well-formed.js";

/** One scenario per file in test/fixtures/check: a CheckRequest as Envoy sends it, and the answer. */

function withBadChecksum(secret: string): string {
  const last = secret.at(-1)!;
  return secret.slice(0, -1) + (last === "A" ? "B" : "A");
}

describe("Check scenarios (test/fixtures/check)", () => {
  it.each(loadFixtures())("%s", async (_name, fixture) => {
    const harness = await createHarness({ ...(fixture.config && { config: fixture.config }), ...(fixture.plan && { plan: fixture.plan }) });
    const secret = fixture.key ? (await harness.createKey(fixture.key)).secret : generateSecret("live");
    const json = substitute(fixture.request, {
      $SECRET: secret,
      $OTHER_SECRET: generateSecret("live"),
      $BAD_CHECKSUM_SECRET: withBadChecksum(secret),
    });
    const request = fromJson(CheckRequestSchema, json);

    let response = await harness.service.check(request);
    for (let i = 1; i < (fixture.repeat ?? 1); i++) response = await harness.service.check(request);

    expectWellFormed(response);
    expect(outcomeOf(response)).toBe(fixture.expect.outcome);
    expect(response.status?.code ?? 0).toBe(fixture.expect.grpcCode);
    if (response.httpResponse.case === "deniedResponse") {
      expect(response.httpResponse.value.status?.code).toBe(fixture.expect.httpStatus);
      const headers = headerMap(response.httpResponse.value);
      for (const [name, value] of Object.entries(fixture.expect.headers ?? {})) expect(headers.get(name), name).toBe(value);
    } else {
      expect(response.httpResponse.case).toBe("okResponse");
      expect(response.httpResponse.value?.headersToRemove).toEqual(fixture.expect.headersToRemove);
    }
  });
});
