import { FRAME_HEADER_BYTES, frameMessageLength } from "../rpc/grpc-frame.js";

/**
 * Follows the envelopes (src/rpc/grpc-frame.ts: 1 flag byte, 4 length bytes, the message) of an
 * enveloped request stream (gRPC, gRPC-Web, Connect streaming): a long-lived stream holds only its
 * unfinished message, not everything it ever sent, and a message too large is known from its
 * header, before it arrives.
 */
export class EnvelopeBoundaries {
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerBytes = 0;
  #messageBytesLeft = 0;
  /** Bytes of the current, unfinished envelope seen so far. */
  #pending = 0;
  #longestMessage = 0;

  /** The largest message length any envelope header read so far announced. */
  get longestMessage(): number {
    return this.#longestMessage;
  }

  /** Bytes that `chunk` completed: whole envelopes ending in it, counted from where they began. */
  completedBy(chunk: Uint8Array): number {
    let completed = 0;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#headerBytes < FRAME_HEADER_BYTES) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerBytes, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerBytes);
        this.#headerBytes += take;
        offset += take;
        this.#pending += take;
        if (this.#headerBytes < FRAME_HEADER_BYTES) break;
        this.#messageBytesLeft = frameMessageLength(this.#header, 0);
        this.#longestMessage = Math.max(this.#longestMessage, this.#messageBytesLeft);
      } else {
        const take = Math.min(this.#messageBytesLeft, chunk.length - offset);
        this.#messageBytesLeft -= take;
        offset += take;
        this.#pending += take;
      }
      if (this.#messageBytesLeft === 0) {
        completed += this.#pending;
        this.#pending = 0;
        this.#headerBytes = 0;
      }
    }
    return completed;
  }
}
