import { randomUUID } from "node:crypto";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { AccessLogService, StreamAccessLogsMessageSchema, type StreamAccessLogsMessage } from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import { responseCostMetric } from "../../src/usage/usage-metrics.js";
import { envoyRequest, outcomeOf } from "../authz/check-harness.js";
import { envoyClient } from "../authz/envoy-client.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";

/**
 * Through the server as app.ts composes it (the embedded store): a cost the response reports is
 * debited from the key's credits, down to zero, and the next Check is denied CREDITS_EXHAUSTED.
 */

const DATA_PLANE_TOKEN = "dp-token-for-response-debits-0123456789";
let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe("a response-reported cost, end to end", () => {
  it("takes the balance to zero, not below, and the next Check is denied CREDITS_EXHAUSTED; a resent entry changes nothing", async () => {
    running = await startTestApp({ env: { KEYGATE_DATA_PLANE_TOKEN: DATA_PLANE_TOKEN, LOG_LEVEL: "silent" } });
    const t = running;
    await t.client.updateOrganizationSettings({ responseCostHeader: "x-usage-tokens" });
    const { key, secret } = await t.client.createKey({ name: "llm gateway", scopes: [], credits: { remaining: 100n } });
    const envoy = envoyClient(new URL(t.app.url).host, DATA_PLANE_TOKEN);
    try {
      expect(outcomeOf(await envoy.check(envoyRequest({ "x-api-key": secret })))).toBe("allowed");

      const entry = {
        commonProperties: {
          startTime: new Date().toISOString(),
          metadata: { filterMetadata: { "envoy.filters.http.ext_authz": { key_id: key!.id, organization_id: key!.organizationId } } },
        },
        request: { requestMethod: "POST", path: "/v1/chat/completions", requestId: randomUUID() },
        response: { responseCode: 200, responseHeaders: { "x-usage-tokens": "500" } },
      } as JsonValue;
      const als = createClient(AccessLogService, createGrpcTransport({ baseUrl: t.app.url, interceptors: [bearer(DATA_PLANE_TOKEN)] }));
      async function* stream(): AsyncIterable<StreamAccessLogsMessage> {
        yield fromJson(StreamAccessLogsMessageSchema, { httpLogs: { logEntry: [entry] } });
      }
      await als.streamAccessLogs(stream());
      await als.streamAccessLogs(stream());
      expect(t.app.usage.metrics.value(responseCostMetric("debited"))).toBe(1);
      expect(t.app.usage.metrics.value(responseCostMetric("duplicate"))).toBe(1);

      expect(outcomeOf(await envoy.check(envoyRequest({ "x-api-key": secret })))).toBe("CREDITS_EXHAUSTED");
    } finally {
      envoy.close();
    }
  });
});
