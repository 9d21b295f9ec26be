import { fromJson, type JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { HTTPAccessLogEntrySchema } from "../../gen/envoy/data/accesslog/v3/accesslog_pb.js";
import { newId } from "../../src/model/ids.js";
import { readAccessLogEntry, type AccessLogReading } from "../../src/usage/access-log-entry.js";

const NOW = Date.UTC(2031, 2, 15, 12);
const KEY = newId("key");
const ORG = newId("org");
const OTHER_KEY = newId("key");

const metadata = (fields: JsonObject) => ({ filterMetadata: { "envoy.filters.http.ext_authz": fields } });

/** An entry as Envoy's http_grpc logger sends it for an allowed request, in protobuf JSON. */
function anEntry(change: (entry: Record<string, any>) => void = () => {}) {
  const entry: Record<string, any> = {
    commonProperties: {
      startTime: "2031-03-15T11:59:58.250Z",
      duration: "0.125500s",
      timeToLastDownstreamTxByte: "0.120s",
      metadata: metadata({ key_id: KEY, organization_id: ORG, scopes: "machines:read", decision_id: "d-1" }),
      downstreamWireBytesReceived: "300",
      downstreamWireBytesSent: "1700",
    },
    request: {
      requestMethod: "GET",
      path: "/v1/machines/7",
      requestHeadersBytes: "250",
      requestBodyBytes: "0",
      requestHeaders: { "x-keygate-key-id": KEY, "x-keygate-organization-id": ORG },
    },
    response: { responseCode: 200, responseHeadersBytes: "120", responseBodyBytes: "1500" },
  };
  change(entry);
  return fromJson(HTTPAccessLogEntrySchema, entry);
}

const read = (change?: (entry: Record<string, any>) => void): AccessLogReading => readAccessLogEntry(anEntry(change), NOW);
const recorded = (fields: object) => ({ result: "recorded", event: { keyId: KEY, organizationId: ORG, ...fields } });
const AT = Date.UTC(2031, 2, 15, 11, 59, 58, 250);

describe("access-log entry → usage", () => {
  it("takes the key from ext_authz metadata, the status, the duration and the wire bytes", () => {
    expect(read()).toEqual(recorded({ atMs: AT, status: 200, durationUs: 125_500, transferredBytes: 2_000 }));
  });

  it("takes the identity from the metadata only, whatever the logged headers say", () => {
    expect(read((e) => (e.request.requestHeaders["x-keygate-key-id"] = OTHER_KEY))).toMatchObject(recorded({}));
  });

  it("never believes identity headers: a client can send them, and a logger can log them", () => {
    expect(read((e) => delete e.commonProperties.metadata)).toEqual({ result: "no_identity" });
    expect(
      read((e) => {
        delete e.commonProperties.metadata;
        e.request.requestHeaders = { "X-Keygate-Key-Id": KEY, "X-Keygate-Organization-Id": ORG };
      }),
    ).toEqual({ result: "no_identity" });
    // Half an identity in the metadata is not completed from the headers.
    expect(read((e) => (e.commonProperties.metadata = metadata({ key_id: KEY })))).toEqual({ result: "no_identity" });
  });

  it("falls back to the other timing and to header and body sizes", () => {
    expect(
      read((e) => {
        delete e.commonProperties.duration;
        delete e.commonProperties.downstreamWireBytesReceived;
        delete e.commonProperties.downstreamWireBytesSent;
      }),
    ).toEqual(recorded({ atMs: AT, status: 200, durationUs: 120_000, transferredBytes: 1_870 }));
    expect(
      read((e) => {
        delete e.commonProperties.duration;
        delete e.commonProperties.timeToLastDownstreamTxByte;
      }),
    ).toEqual(recorded({ atMs: AT, status: 200, transferredBytes: 2_000 }));
  });

  it.each([200, 204, 301, 399, 400, 404, 429, 500, 503, 599])("keeps status %i as logged", (status) => {
    expect(read((e) => (e.response.responseCode = status))).toMatchObject(recorded({ status }));
  });

  it.each<[string, (entry: Record<string, any>) => void, string]>([
    ["denied by ext_authz (UAEX flag)", (e) => (e.commonProperties.responseFlags = { unauthorizedDetails: { reason: "EXTERNAL_SERVICE" } }), "denied_by_check"],
    ["denied by Check (its denial metadata)", (e) => (e.commonProperties.metadata = metadata({ code: "RATE_LIMITED", key_id: KEY, organization_id: ORG })), "denied_by_check"],
    [
      "no identity at all",
      (e) => {
        delete e.commonProperties.metadata;
        delete e.request.requestHeaders;
      },
      "no_identity",
    ],
    [
      "only half an identity",
      (e) => {
        delete e.commonProperties.metadata;
        delete e.request.requestHeaders["x-keygate-organization-id"];
      },
      "no_identity",
    ],
    ["metadata of another filter only", (e) => ((e.commonProperties.metadata = { filterMetadata: { "envoy.lb": { key_id: KEY, organization_id: ORG } } }), delete e.request.requestHeaders), "no_identity"],
    ["a key id that is not an id", (e) => (e.commonProperties.metadata = metadata({ key_id: "key_'; drop", organization_id: ORG })), "bad_identity"],
    ["ids of the wrong kinds", (e) => (e.commonProperties.metadata = metadata({ key_id: ORG, organization_id: KEY })), "bad_identity"],
    ["a non-string key id", (e) => ((e.commonProperties.metadata = metadata({ key_id: 7, organization_id: ORG })), delete e.request.requestHeaders), "no_identity"],
    ["no response code", (e) => delete e.response.responseCode, "bad_status"],
    ["no response at all", (e) => delete e.response, "bad_status"],
    ["status 0 (no response sent)", (e) => (e.response.responseCode = 0), "bad_status"],
    ["status 600", (e) => (e.response.responseCode = 600), "bad_status"],
    ["status 99", (e) => (e.response.responseCode = 99), "bad_status"],
    ["no start time", (e) => delete e.commonProperties.startTime, "bad_time"],
    ["a start time over a week old", (e) => (e.commonProperties.startTime = "2031-03-08T11:59:00Z"), "bad_time"],
    ["a start time in the future", (e) => (e.commonProperties.startTime = "2031-03-15T12:06:00Z"), "bad_time"],
    ["a start time at the epoch", (e) => (e.commonProperties.startTime = "1970-01-01T00:00:00Z"), "bad_time"],
    ["a negative duration", (e) => (e.commonProperties.duration = "-0.5s"), "bad_duration"],
    ["a duration over a day", (e) => (e.commonProperties.duration = "90000s"), "bad_duration"],
    ["absurd wire bytes", (e) => (e.commonProperties.downstreamWireBytesSent = "18446744073709551615"), "bad_size"],
    [
      "absurd body bytes",
      (e) => {
        delete e.commonProperties.downstreamWireBytesReceived;
        delete e.commonProperties.downstreamWireBytesSent;
        e.response.responseBodyBytes = "9007199254740993";
      },
      "bad_size",
    ],
  ])("ignores an entry with %s", (_, change, result) => {
    expect(read(change)).toEqual({ result });
  });

  it("reads an empty entry as one without identity, never throwing", () => {
    expect(readAccessLogEntry(fromJson(HTTPAccessLogEntrySchema, {}), NOW)).toEqual({ result: "no_identity" });
  });
});
