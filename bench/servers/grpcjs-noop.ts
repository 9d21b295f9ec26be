import { fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { CheckRequestSchema, CheckResponseSchema, type CheckRequest, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { fixedOkResponse } from "../lib/requests.js";
import { ownStats, reportToParent } from "../lib/server-stats.js";

/**
 * Baseline (c): a no-op Check on @grpc/grpc-js. Like (b), each request is decoded with
 * protobuf-es and the same fixed CheckResponse encoded, so (b) and (c) differ only in framework.
 */
const response = fixedOkResponse();
const definition: grpc.ServiceDefinition = {
  check: {
    path: "/envoy.service.auth.v3.Authorization/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: (message: CheckRequest) => Buffer.from(toBinary(CheckRequestSchema, message)),
    requestDeserialize: (bytes: Buffer) => fromBinary(CheckRequestSchema, bytes),
    responseSerialize: (message: CheckResponse) => Buffer.from(toBinary(CheckResponseSchema, message)),
    responseDeserialize: (bytes: Buffer) => fromBinary(CheckResponseSchema, bytes),
  },
};
const server = new grpc.Server({ "grpc.max_concurrent_streams": 1000 });
server.addService(definition, {
  check: (_call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) => callback(null, response),
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  reportToParent(port, () => ownStats());
});
