/**
 * The few HTTP/2 frames the frame generator writes, encoded by hand (RFC 9113, RFC 7541): the
 * client preface with its settings, and one request as a HEADERS frame and a DATA frame side by
 * side in one buffer, whose stream id and secret the generator patches in place per request. The
 * header block uses only the static table and literals without indexing, so it is the same bytes
 * on every request and the generator never decodes or keeps any HPACK state.
 */

export const FRAME_HEADER_LENGTH = 9;
export const FrameType = { Data: 0, Headers: 1, RstStream: 3, Settings: 4, Ping: 6, Goaway: 7, WindowUpdate: 8 } as const;
/** END_STREAM (DATA, HEADERS) and ACK (SETTINGS, PING) are the same bit. */
export const Flag = { EndStream: 0x1, Ack: 0x1, EndHeaders: 0x4 } as const;
/** Our receive windows, raised to the maximum at once so the server never waits for us. */
export const MAX_WINDOW = 0x7fffffff;
/** The server's windows until it says otherwise (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_LENGTH + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  out.set(payload, FRAME_HEADER_LENGTH);
  return out;
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment);
  return frame(FrameType.WindowUpdate, 0, streamId, payload);
}

/** The connection preface, settings (no push, the largest stream window) and the largest connection window. */
export function clientPreface(): Buffer {
  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(MAX_WINDOW, 8);
  return Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), frame(FrameType.Settings, 0, 0, settings), windowUpdate(0, MAX_WINDOW - DEFAULT_WINDOW)]);
}

/** A string literal, not Huffman-coded, of under 127 bytes. */
function literal(value: string): Buffer {
  if (value.length >= 127) throw new Error("header value too long for a one-byte length");
  return Buffer.concat([Buffer.from([value.length]), Buffer.from(value, "latin1")]);
}

/** POST `path` with gRPC's headers: :method POST and :scheme http from the static table, the rest literal. */
function headerBlock(authority: string, path: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
    Buffer.from([0x04]), literal(path), // :path (static name 4), literal without indexing
    Buffer.from([0x01]), literal(authority), // :authority (static name 1)
    Buffer.from([0x0f, 0x10]), literal("application/grpc"), // content-type (static name 31 = 15 + 16)
    Buffer.from([0x00]), literal("te"), literal("trailers"), // te: a literal name
  ]);
}

export interface RequestTemplate {
  /** HEADERS then DATA (END_STREAM), stream id 0 until patched. */
  bytes: Buffer;
  /** Where the DATA frame starts, and its payload's length (what it takes from the send window). */
  dataOffset: number;
  dataLength: number;
}

export function requestTemplate(authority: string, path: string, body: Uint8Array): RequestTemplate {
  const headers = frame(FrameType.Headers, Flag.EndHeaders, 0, headerBlock(authority, path));
  const data = frame(FrameType.Data, Flag.EndStream, 0, body);
  return { bytes: Buffer.concat([headers, data]), dataOffset: headers.length, dataLength: body.length };
}

/** Writes `streamId` into both frames of a request made from `template`. */
export function setStreamId(bytes: Buffer, template: RequestTemplate, streamId: number): void {
  bytes.writeUInt32BE(streamId, 5);
  bytes.writeUInt32BE(streamId, template.dataOffset + 5);
}
