import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { toBinary } from "@bufbuild/protobuf";
import { CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { fixedOkResponse, grpcFrame } from "../lib/requests.js";
import { ownStats, reportToParent } from "../lib/server-stats.js";

/**
 * Baseline (a), the transport's limit in Node: a bare node:http2 server that reads each request
 * to its end and answers with one pre-encoded CheckResponse frame and grpc-status 0 trailers. No
 * routing, no decoding, no allocation beyond what node:http2 itself does.
 */
const body = grpcFrame(toBinary(CheckResponseSchema, fixedOkResponse()));
const responseHeaders = { ":status": 200, "content-type": "application/grpc" };
const trailers = { "grpc-status": "0" };

const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond(responseHeaders, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end(body);
  });
  stream.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => reportToParent((server.address() as AddressInfo).port, () => ownStats()));
