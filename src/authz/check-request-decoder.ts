import { fromBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { WANTED_HEADERS, type CheckRequestFields, type HttpRequestFields } from "./check-input.js";

/**
 * CheckRequest bytes → the fields Check reads (CheckRequestFields), without building the whole
 * message. protobuf-es's fromBinary creates every message, map and string of Envoy's request
 * (a dozen headers, two peers, the route's extensions), which costs more than the decision
 * itself; this reads the same wire format in one pass and decodes only:
 *  - source.address.socket_address.address, the request's http id, method, path, size and
 *    header_map, context_extensions;
 *  - of http.headers, only the entries check-input reads (WANTED_HEADERS); the others are
 *    checked for shape and skipped.
 * It is exact by construction: every field the trimmed schema declares is checked against its
 * wire type and shape exactly as fromBinary would read it (including fields it does not keep,
 * like the destination peer), fields the schema does not declare are skipped as fromBinary skips
 * them, repeated message fields merge, map keys and oneofs take the last value, and strings decode
 * as protobuf-es decodes them. Whatever it does not handle (groups, bad tags, truncation, a
 * declared field with another wire type) makes it hand the bytes to fromBinary, so an unusual
 * request gets fromBinary's result or error, never a different one. test/authz proves
 * checkInput(decodeCheckRequest(b)) equals checkInput(fromBinary(b)) on generated and mutated
 * requests.
 */

/** Thrown inside the decoder to hand the bytes to fromBinary; preallocated, no stack trace. */
const FALLBACK: unique symbol = Symbol("fallback to fromBinary");

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const NOTHING = Buffer.alloc(0);
let buf: Uint8Array = NOTHING;
/** The same bytes as a Buffer, to read ASCII strings with its latin1Slice. */
let latin1: Buffer = NOTHING;
let pos = 0;
const textEncoding = getTextEncoding();

/** Buffer's own method behind toString("latin1", start, end), without the argument checks. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

function varint32(): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= buf.length) throw FALLBACK;
    const byte = buf[pos++]!;
    if (shift === 28 && byte > 0x0f) throw FALLBACK;
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) return result >>> 0;
  }
  throw FALLBACK;
}

/** A varint of up to 10 bytes, as protobuf-es reads int64: two's complement, as a bigint. */
function int64(): bigint {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw FALLBACK;
    const byte = buf[pos++]!;
    if (i < 4) lo |= (byte & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (byte & 0x0f) << 28;
      hi |= (byte & 0x70) >> 4;
    } else hi |= (byte & 0x7f) << (7 * i - 32);
    if (byte < 0x80) return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }
  throw FALLBACK;
}

function skipVarint(): void {
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw FALLBACK;
    if (buf[pos++]! < 0x80) return;
  }
  throw FALLBACK;
}

/** The end of a length-delimited field whose length comes next. */
function delimitedEnd(limit: number): number {
  const length = varint32();
  const end = pos + length;
  if (end > limit) throw FALLBACK;
  return end;
}

/** A tag: field number * 8 + wire type. Groups and invalid wire types fall back. */
function tag(): number {
  const value = varint32();
  const wireType = value & 7;
  if (value >>> 3 === 0 || (wireType !== VARINT && wireType !== FIXED64 && wireType !== LENGTH_DELIMITED && wireType !== FIXED32)) throw FALLBACK;
  return value;
}

function skip(wireType: number, limit: number): void {
  switch (wireType) {
    case VARINT:
      return skipVarint();
    case FIXED64:
      pos += 8;
      break;
    case FIXED32:
      pos += 4;
      break;
    default:
      pos = delimitedEnd(limit);
  }
  if (pos > limit) throw FALLBACK;
}

/** A string as protobuf-es decodes it: ASCII directly, anything else with its TextDecoder. */
function text(end: number): string {
  const start = pos;
  pos = end;
  for (let i = start; i < end; i++) {
    if (buf[i]! > 0x7f) return textEncoding.decodeUtf8(buf.subarray(start, end));
  }
  return (latin1 as unknown as Latin1Slicer).latin1Slice(start, end);
}

function expect(wireType: number, field: number): void {
  if ((field & 7) !== wireType) throw FALLBACK;
}

function stringField(field: number, end: number): string {
  expect(LENGTH_DELIMITED, field);
  return text(delimitedEnd(end));
}

function skipDeclared(field: number, wireType: number, end: number): void {
  expect(wireType, field);
  skip(wireType, end);
}

/**
 * A map<string, string> entry (its tag already read and checked) into `record`, with proto3
 * defaults and the last key and value of the entry winning. With `wanted`, only a key that is
 * one of those names is kept, compared as bytes (a kept key is the constant name itself).
 * Without a record (a peer's labels, which Check never reads) the entry is only checked.
 */
function stringEntry(end: number, record: { [key: string]: string } | undefined, wanted?: WantedNames): void {
  const entryEnd = delimitedEnd(end);
  let key: string | undefined = "";
  let valueStart = -1;
  let valueEnd = -1;
  while (pos < entryEnd) {
    const field = tag();
    const no = field >>> 3;
    if (no === 1) {
      expect(LENGTH_DELIMITED, field);
      const keyEnd = delimitedEnd(entryEnd);
      if (record === undefined) pos = keyEnd;
      else key = wanted === undefined ? text(keyEnd) : wantedName(wanted, keyEnd);
    } else if (no === 2) {
      expect(LENGTH_DELIMITED, field);
      valueEnd = delimitedEnd(entryEnd);
      valueStart = pos;
      pos = valueEnd;
    } else skip(field & 7, entryEnd);
  }
  if (record === undefined || key === undefined || (wanted !== undefined && key === "")) return;
  if (valueStart < 0) {
    record[key] = "";
    return;
  }
  const after = pos;
  pos = valueStart;
  record[key] = text(valueEnd);
  pos = after;
}

/** Names by their length (all ASCII), to find a key among them without decoding it. */
type WantedNames = ReadonlyMap<number, readonly string[]>;

function byLength(names: Iterable<string>): WantedNames {
  const map = new Map<number, string[]>();
  for (const name of names) {
    if (!/^[\x20-\x7e]+$/.test(name)) throw new Error(`not a printable ASCII header name: ${name}`);
    map.set(name.length, [...(map.get(name.length) ?? []), name]);
  }
  return map;
}

const WANTED = byLength(WANTED_HEADERS);

/** The wanted name the bytes up to `end` spell, or undefined; moves past them either way. */
function wantedName(wanted: WantedNames, end: number): string | undefined {
  const start = pos;
  pos = end;
  const candidates = wanted.get(end - start);
  if (candidates === undefined) return undefined;
  next: for (const name of candidates) {
    for (let i = 0; i < name.length; i++) if (buf[start + i] !== name.charCodeAt(i)) continue next;
    return name;
  }
  return undefined;
}

interface MutableHttp {
  id: string;
  method: string;
  headers: { [key: string]: string };
  path: string;
  size: bigint;
  headerMap: { headers: Array<{ key: string; value: string; rawValue: Uint8Array }> } | undefined;
}

interface MutableAddress {
  address: { case: "socketAddress"; value: { address: string } } | { case: "pipe" | "envoyInternalAddress" | undefined };
}

interface MutableAttributes {
  source: { address: MutableAddress | undefined } | undefined;
  request: { http: MutableHttp | undefined } | undefined;
  contextExtensions: { [key: string]: string };
}

function headerValue(end: number): { key: string; value: string; rawValue: Uint8Array } {
  const header: { key: string; value: string; rawValue: Uint8Array } = { key: "", value: "", rawValue: new Uint8Array(0) };
  while (pos < end) {
    const field = tag();
    const no = field >>> 3;
    if (no === 1) header.key = stringField(field, end);
    else if (no === 2) header.value = stringField(field, end);
    else if (no === 3) {
      expect(LENGTH_DELIMITED, field);
      const bytesEnd = delimitedEnd(end);
      header.rawValue = buf.subarray(pos, bytesEnd);
      pos = bytesEnd;
    } else skip(field & 7, end);
  }
  return header;
}

function httpRequest(http: MutableHttp, end: number): void {
  while (pos < end) {
    const field = tag();
    switch (field >>> 3) {
      case 1:
        http.id = stringField(field, end);
        break;
      case 2:
        http.method = stringField(field, end);
        break;
      case 3:
        expect(LENGTH_DELIMITED, field);
        stringEntry(end, http.headers, WANTED);
        break;
      case 4:
        http.path = stringField(field, end);
        break;
      case 5:
      case 6:
      case 7:
      case 8:
      case 10:
        skipDeclared(field, LENGTH_DELIMITED, end);
        break;
      case 9:
        expect(VARINT, field);
        http.size = int64();
        break;
      case 13: {
        expect(LENGTH_DELIMITED, field);
        const mapEnd = delimitedEnd(end);
        http.headerMap ??= { headers: [] };
        while (pos < mapEnd) {
          const entry = tag();
          if (entry >>> 3 === 1) {
            expect(LENGTH_DELIMITED, entry);
            http.headerMap.headers.push(headerValue(delimitedEnd(mapEnd)));
          } else skip(entry & 7, mapEnd);
        }
        break;
      }
      default:
        skip(field & 7, end);
    }
  }
}

/** Validates a message of the schema that Check does not read (Pipe, EnvoyInternalAddress). */
function declaredOnly(end: number, wireTypes: ReadonlyMap<number, number>): void {
  while (pos < end) {
    const field = tag();
    const wireType = wireTypes.get(field >>> 3);
    if (wireType !== undefined) expect(wireType, field);
    skip(field & 7, end);
  }
}

const PIPE = new Map([
  [1, LENGTH_DELIMITED],
  [2, VARINT],
]);
const INTERNAL_ADDRESS = new Map([
  [1, LENGTH_DELIMITED],
  [2, LENGTH_DELIMITED],
]);
const SOCKET_ADDRESS = new Map([
  [1, VARINT],
  [2, LENGTH_DELIMITED],
  [3, VARINT],
  [4, LENGTH_DELIMITED],
  [5, LENGTH_DELIMITED],
  [6, VARINT],
]);

function address(target: MutableAddress, end: number): void {
  while (pos < end) {
    const field = tag();
    const no = field >>> 3;
    if (no < 1 || no > 3) {
      skip(field & 7, end);
      continue;
    }
    expect(LENGTH_DELIMITED, field);
    const messageEnd = delimitedEnd(end);
    if (no === 1) {
      // A oneof: a repeated socket_address merges, another case replaces it.
      const socket = target.address.case === "socketAddress" ? target.address.value : { address: "" };
      target.address = { case: "socketAddress", value: socket };
      while (pos < messageEnd) {
        const inner = tag();
        if (inner >>> 3 === 2) socket.address = stringField(inner, messageEnd);
        else {
          const wireType = SOCKET_ADDRESS.get(inner >>> 3);
          if (wireType !== undefined) expect(wireType, inner);
          skip(inner & 7, messageEnd);
        }
      }
    } else {
      declaredOnly(messageEnd, no === 2 ? PIPE : INTERNAL_ADDRESS);
      target.address = { case: no === 2 ? "pipe" : "envoyInternalAddress" };
    }
  }
}

/** A Peer into `target`; the destination (target undefined) is only checked, as Check never reads it. */
function peer(target: { address: MutableAddress | undefined } | undefined, end: number): void {
  while (pos < end) {
    const field = tag();
    switch (field >>> 3) {
      case 1: {
        expect(LENGTH_DELIMITED, field);
        const addressEnd = delimitedEnd(end);
        if (target === undefined) address({ address: { case: undefined } }, addressEnd);
        else address((target.address ??= { address: { case: undefined } }), addressEnd);
        break;
      }
      case 2:
      case 4:
      case 5:
        skipDeclared(field, LENGTH_DELIMITED, end);
        break;
      case 3:
        expect(LENGTH_DELIMITED, field);
        stringEntry(end, undefined);
        break;
      default:
        skip(field & 7, end);
    }
  }
}

function attributes(target: MutableAttributes, end: number): void {
  while (pos < end) {
    const field = tag();
    switch (field >>> 3) {
      case 1:
        expect(LENGTH_DELIMITED, field);
        peer((target.source ??= { address: undefined }), delimitedEnd(end));
        break;
      case 2:
        expect(LENGTH_DELIMITED, field);
        peer(undefined, delimitedEnd(end));
        break;
      case 4: {
        expect(LENGTH_DELIMITED, field);
        const requestEnd = delimitedEnd(end);
        const request = (target.request ??= { http: undefined });
        while (pos < requestEnd) {
          const inner = tag();
          if (inner >>> 3 === 2) {
            expect(LENGTH_DELIMITED, inner);
            const http = (request.http ??= {
              id: "",
              method: "",
              // Only WANTED_HEADERS land here, never "__proto__": a plain object will do.
              headers: {},
              path: "",
              size: 0n,
              headerMap: undefined,
            });
            httpRequest(http, delimitedEnd(requestEnd));
          } else skip(inner & 7, requestEnd);
        }
        break;
      }
      case 10:
        expect(LENGTH_DELIMITED, field);
        stringEntry(end, target.contextExtensions);
        break;
      default:
        skip(field & 7, end);
    }
  }
}

function decode(bytes: Uint8Array): CheckRequestFields {
  buf = bytes;
  latin1 = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = 0;
  let attributesFields: MutableAttributes | undefined;
  while (pos < buf.length) {
    const field = tag();
    if (field >>> 3 === 1) {
      expect(LENGTH_DELIMITED, field);
      attributesFields ??= { source: undefined, request: undefined, contextExtensions: Object.create(null) as { [key: string]: string } };
      attributes(attributesFields, delimitedEnd(buf.length));
    } else skip(field & 7, buf.length);
  }
  return { attributes: attributesFields };
}

/**
 * The fields Check reads from a serialized CheckRequest. Throws a ConnectError (internal,
 * "parse binary: …", as Connect reports it) when the bytes are not a CheckRequest.
 */
export function decodeCheckRequest(bytes: Uint8Array): CheckRequestFields {
  try {
    return decode(bytes);
  } catch (error) {
    if (error !== FALLBACK) throw error;
  } finally {
    buf = NOTHING;
    latin1 = NOTHING;
  }
  try {
    return fromBinary(CheckRequestSchema, bytes);
  } catch (error) {
    throw new ConnectError(`parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.Internal);
  }
}

export type { HttpRequestFields };
