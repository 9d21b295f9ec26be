import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { LENGTH_DELIMITED, UNREADABLE, VARINT, WireReader } from "../rpc/protobuf-wire.js";
import { WANTED_HEADERS, type CheckRequestFields } from "./check-input.js";
import { peer, type MutableAddress } from "./check-request-peer.js";
import { byLength, stringEntry, type WantedNames } from "./string-map-entry.js";

/**
 * CheckRequest bytes → the fields Check reads (CheckRequestFields), without building the whole
 * message. protobuf-es's fromBinary creates every message, map and string of Envoy's request
 * (a dozen headers, two peers, the route's extensions), which costs more than the decision
 * itself; this reads the same wire format in one pass and decodes only:
 *  - source.address.socket_address.address (check-request-peer.ts), the request's http id,
 *    method, path, size and header_map, context_extensions;
 *  - of http.headers, only the entries check-input reads (WANTED_HEADERS, string-map-entry.ts),
 *    and, when tracing is on, those the trace propagators read (check-tracing.ts);
 *    the others are checked for shape and skipped.
 * It is exact by construction: every field the trimmed schema declares is checked against its
 * wire type and shape exactly as fromBinary would read it (including fields it does not keep,
 * like the destination peer), fields the schema does not declare are skipped as fromBinary skips
 * them, repeated message fields merge, map keys and oneofs take the last value, and strings decode
 * as protobuf-es decodes them. Whatever it does not handle (groups, bad tags, truncation, a
 * declared field with another wire type) makes its reader stop (src/rpc/protobuf-wire.ts), and
 * the bytes go to fromBinary, so an unusual request gets fromBinary's result or error, never a
 * different one. test/authz proves checkInput(decode(b)) equals checkInput(fromBinary(b)) on
 * generated and mutated requests.
 */

interface MutableHttp {
  id: string;
  method: string;
  headers: { [key: string]: string };
  path: string;
  size: bigint;
  headerMap: { headers: Array<{ key: string; value: string; rawValue: Uint8Array }> } | undefined;
}

interface MutableAttributes {
  source: { address: MutableAddress | undefined } | undefined;
  request: { http: MutableHttp | undefined } | undefined;
  contextExtensions: { [key: string]: string };
}

function headerValue(r: WireReader, end: number): { key: string; value: string; rawValue: Uint8Array } {
  const header: { key: string; value: string; rawValue: Uint8Array } = { key: "", value: "", rawValue: new Uint8Array(0) };
  while (r.pos < end) {
    const field = r.tag();
    const no = field >>> 3;
    if (no === 1) header.key = r.string(field, end);
    else if (no === 2) header.value = r.string(field, end);
    else if (no === 3) {
      r.expect(LENGTH_DELIMITED, field);
      const bytesEnd = r.delimitedEnd(end);
      header.rawValue = r.buf.subarray(r.pos, bytesEnd);
      r.pos = bytesEnd;
    } else r.skip(field & 7, end);
  }
  return header;
}

function httpRequest(r: WireReader, http: MutableHttp, end: number, wanted: WantedNames): void {
  while (r.pos < end) {
    const field = r.tag();
    switch (field >>> 3) {
      case 1:
        http.id = r.string(field, end);
        break;
      case 2:
        http.method = r.string(field, end);
        break;
      case 3:
        r.expect(LENGTH_DELIMITED, field);
        stringEntry(r, end, http.headers, wanted);
        break;
      case 4:
        http.path = r.string(field, end);
        break;
      case 5:
      case 6:
      case 7:
      case 8:
      case 10:
        r.skipDeclared(field, LENGTH_DELIMITED, end);
        break;
      case 9:
        r.expect(VARINT, field);
        http.size = r.int64();
        break;
      case 13: {
        r.expect(LENGTH_DELIMITED, field);
        const mapEnd = r.delimitedEnd(end);
        http.headerMap ??= { headers: [] };
        while (r.pos < mapEnd) {
          const entry = r.tag();
          if (entry >>> 3 === 1) {
            r.expect(LENGTH_DELIMITED, entry);
            http.headerMap.headers.push(headerValue(r, r.delimitedEnd(mapEnd)));
          } else r.skip(entry & 7, mapEnd);
        }
        break;
      }
      default:
        r.skip(field & 7, end);
    }
  }
}

function attributes(r: WireReader, target: MutableAttributes, end: number, wanted: WantedNames): void {
  while (r.pos < end) {
    const field = r.tag();
    switch (field >>> 3) {
      case 1:
        r.expect(LENGTH_DELIMITED, field);
        peer(r, (target.source ??= { address: undefined }), r.delimitedEnd(end));
        break;
      case 2:
        r.expect(LENGTH_DELIMITED, field);
        peer(r, undefined, r.delimitedEnd(end));
        break;
      case 4: {
        r.expect(LENGTH_DELIMITED, field);
        const requestEnd = r.delimitedEnd(end);
        const request = (target.request ??= { http: undefined });
        while (r.pos < requestEnd) {
          const inner = r.tag();
          if (inner >>> 3 === 2) {
            r.expect(LENGTH_DELIMITED, inner);
            const http = (request.http ??= {
              id: "",
              method: "",
              // Only wanted names land here, never "__proto__": a plain object will do.
              headers: {},
              path: "",
              size: 0n,
              headerMap: undefined,
            });
            httpRequest(r, http, r.delimitedEnd(requestEnd), wanted);
          } else r.skip(inner & 7, requestEnd);
        }
        break;
      }
      case 10:
        r.expect(LENGTH_DELIMITED, field);
        stringEntry(r, end, target.contextExtensions);
        break;
      default:
        r.skip(field & 7, end);
    }
  }
}

function checkRequest(r: WireReader, wanted: WantedNames): CheckRequestFields {
  const length = r.buf.length;
  let attributesFields: MutableAttributes | undefined;
  while (r.pos < length) {
    const field = r.tag();
    if (field >>> 3 === 1) {
      r.expect(LENGTH_DELIMITED, field);
      attributesFields ??= { source: undefined, request: undefined, contextExtensions: Object.create(null) as { [key: string]: string } };
      attributes(r, attributesFields, r.delimitedEnd(length), wanted);
    } else r.skip(field & 7, length);
  }
  return { attributes: attributesFields };
}

/** The lean decoder; its reader is its own, so decoders of two services share nothing. */
export class CheckRequestDecoder {
  readonly #reader = new WireReader();
  readonly #wanted: WantedNames;

  /** `alsoKeep`: header names kept beside WANTED_HEADERS (the trace propagators', check-tracing.ts). */
  constructor(alsoKeep: readonly string[] = []) {
    this.#wanted = byLength(new Set([...WANTED_HEADERS, ...alsoKeep]));
  }

  /**
   * The fields Check reads from a serialized CheckRequest. Throws a ConnectError (internal,
   * "parse binary: …", as Connect reports it) when the bytes are not a CheckRequest.
   */
  decode(bytes: Uint8Array): CheckRequestFields {
    const reader = this.#reader;
    try {
      reader.reset(bytes);
      return checkRequest(reader, this.#wanted);
    } catch (error) {
      if (error !== UNREADABLE) throw error;
    } finally {
      reader.release();
    }
    try {
      return fromBinary(CheckRequestSchema, bytes);
    } catch (error) {
      throw new ConnectError(`parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.Internal);
    }
  }
}
