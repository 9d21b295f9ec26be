/**
 * gRPC's length-prefixed message, the frame every enveloped protocol shares (gRPC, gRPC-Web,
 * Connect streaming; Connect calls it an envelope): one flag byte, the message's length as 4
 * bytes big-endian, then the message.
 */

/** The flag byte and the length before each message. */
export const FRAME_HEADER_BYTES = 5;

/** The flag bit of a compressed message. */
export const COMPRESSED_FLAG = 0b1;

/** The message length that the frame header at `offset` of `bytes` announces. */
export function frameMessageLength(bytes: Buffer, offset: number): number {
  return bytes.readUInt32BE(offset + 1);
}

/** `message` framed: not compressed, its length, its bytes. */
export function frame(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, FRAME_HEADER_BYTES);
  return framed;
}
