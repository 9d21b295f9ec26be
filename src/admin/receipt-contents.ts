import { createHash, timingSafeEqual } from "node:crypto";
import { toBinary, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import { rpcName } from "./change-rpcs.js";

/**
 * What an idempotency receipt holds before it is sealed: which request it answered (a
 * fingerprint of the method and the request message) and the answer (the response message in
 * protobuf binary, as the handler gave it, so a retry is answered byte for byte the same).
 * Layout: a version byte, the 32-byte fingerprint, the response.
 */

const VERSION = 1;
const FINGERPRINT_BYTES = 32;

/**
 * SHA-256 of the method's name and the request in protobuf binary: the same for a retry over any
 * protocol (Connect JSON or binary, gRPC, gRPC-Web), different for another method or body.
 */
export function requestFingerprint(method: DescMethod, request: MessageShape<DescMessage>): Buffer {
  return createHash("sha256").update(rpcName(method)).update("\0").update(toBinary(method.input, request)).digest();
}

export function receiptContents(fingerprint: Buffer, response: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(VERSION), fingerprint, response]);
}

/** The answer a receipt holds when it answered this request; undefined when it answered another. */
export function answerFor(contents: Buffer, fingerprint: Buffer): Uint8Array | undefined {
  if (contents.length < 1 + FINGERPRINT_BYTES || contents[0] !== VERSION) throw new Error("idempotency receipt has an unknown layout");
  return timingSafeEqual(contents.subarray(1, 1 + FINGERPRINT_BYTES), fingerprint) ? contents.subarray(1 + FINGERPRINT_BYTES) : undefined;
}
