import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { fixedOkResponse } from "../lib/requests.js";
import { ownStats, reportToParent } from "../lib/server-stats.js";

/**
 * Baseline (b): a no-op Check on @connectrpc/connect-node over h2c. The framework decodes each
 * request and encodes the same fixed CheckResponse; the handler decides nothing.
 */
const response = fixedOkResponse();
const handler = connectNodeAdapter({ routes: (router) => router.service(Authorization, { check: () => response }) });
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } }, handler);
server.listen(0, "127.0.0.1", () => reportToParent((server.address() as AddressInfo).port, () => ownStats()));
