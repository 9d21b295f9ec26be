import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { MetadataSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import { CheckRequestSchema, CheckResponseSchema, type CheckRequest, type CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";

/**
 * A plain @grpc/grpc-js client calling Check the way Envoy does: HTTP/2, application/grpc, binary
 * protobuf, Envoy's own call metadata, and the fields of Envoy's full AttributeContext that
 * keygate's trimmed copy does not declare (some of them not even valid UTF-8).
 */

function lengthDelimited(no: number, payload: Uint8Array) {
  return { no, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(payload).finish() };
}

export function asEnvoySendsIt(request: CheckRequest): CheckRequest {
  const attributes = request.attributes;
  if (attributes === undefined) return request;
  const metadata = toBinary(MetadataSchema, create(MetadataSchema, { filterMetadata: { "envoy.filters.http.jwt_authn": { sub: "user-1" } } }));
  attributes.$unknown = [
    lengthDelimited(11, metadata), // metadata_context
    lengthDelimited(12, new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(Buffer.from([0x61, 0xff, 0x62])).finish()), // tls_session.sni
    lengthDelimited(13, metadata), // route_metadata_context
  ];
  if (attributes.request) {
    attributes.request.$unknown = [lengthDelimited(1, toBinary(TimestampSchema, create(TimestampSchema, { seconds: 1_768_478_400n })))];
    if (attributes.request.http) {
      attributes.request.http.$unknown = [lengthDelimited(11, Buffer.from([0xc3, 0x28, 0x7b])), lengthDelimited(12, Buffer.from("raw body"))];
    }
  }
  return request;
}

export interface EnvoyClient {
  check(request: CheckRequest): Promise<CheckResponse>;
  close(): void;
}

/**
 * `address` is host:port of an h2c server; `dataPlaneToken`, when keygate requires one, goes in
 * the call metadata as Envoy's `grpc_service.initial_metadata` sends it.
 */
export function envoyClient(address: string, dataPlaneToken?: string): EnvoyClient {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return {
    check: (request) =>
      new Promise((resolve, reject) => {
        // Envoy's own call metadata; keygate must ignore it (the client address is in the attributes).
        const metadata = new grpc.Metadata();
        metadata.set("x-envoy-internal", "true");
        metadata.set("x-forwarded-for", "10.99.99.99");
        if (dataPlaneToken !== undefined) metadata.set("authorization", `Bearer ${dataPlaneToken}`);
        client.makeUnaryRequest(
          "/envoy.service.auth.v3.Authorization/Check",
          (message: CheckRequest) => Buffer.from(toBinary(CheckRequestSchema, asEnvoySendsIt(message))),
          (bytes: Buffer) => fromBinary(CheckResponseSchema, bytes),
          request,
          metadata,
          { deadline: Date.now() + 10_000 },
          (error, response) => (error ? reject(error) : resolve(response!)),
        );
      }),
    close: () => client.close(),
  };
}
