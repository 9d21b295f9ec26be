import { connect, type Socket } from "node:net";
import { clientPreface, DEFAULT_WINDOW, Flag, frame, FRAME_HEADER_LENGTH, FrameType, setStreamId, windowUpdate, type RequestTemplate } from "./h2-wire.js";

/**
 * One HTTP/2 client connection of the frame generator, over a plain TCP socket (prior knowledge,
 * as h2load connects): it writes pre-encoded requests (h2-wire.ts) and reads only frame headers
 * back, never decoding HPACK. A stream that answers with a DATA frame and then ends with a HEADERS
 * frame (gRPC's trailers) counts as answered; a reset, a stream without a message (a trailers-only
 * gRPC error) or a lost connection as failed. Whether the decision is the expected one is judged
 * from the messages the caller asks to keep (a sample).
 *
 * Not node:http2's client: it spent about 80 µs of CPU per request here, more than a bare
 * node:http2 server spends answering it, so it capped every case at its own speed.
 */

export type Answered = (ok: boolean, message: Buffer[] | null) => void;

interface Exchange {
  bytes: Buffer;
  /** The DATA payloads, when kept. */
  message: Buffer[] | null;
  sawData: boolean;
  answered: Answered;
}

/** Credit the server's data back once this much has arrived (our windows start at the maximum). */
const CREDIT_AFTER = 2 ** 30;

export class H2Connection {
  readonly #socket: Socket;
  readonly #template: RequestTemplate;
  readonly #open = new Map<number, Exchange>();
  /** Requests waiting for the server's connection window. */
  readonly #waiting: Exchange[] = [];
  #sendWindow = DEFAULT_WINDOW;
  #nextStreamId = 1;
  #received = 0;
  #leftover: Buffer | undefined;
  /** Why the connection is gone, once it is. */
  lost: string | undefined;

  private constructor(socket: Socket, template: RequestTemplate) {
    this.#socket = socket;
    this.#template = template;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", (error) => (this.lost ??= error.message));
    socket.on("close", () => this.#closed());
  }

  static open(port: number, template: RequestTemplate): Promise<H2Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.off("error", reject);
        socket.write(clientPreface());
        resolve(new H2Connection(socket, template));
      });
      socket.once("error", reject);
    });
  }

  /** Sends a request made from the template (its stream id is written here); `answered` when its stream ends. */
  send(bytes: Buffer, keepMessage: boolean, answered: Answered): void {
    if (this.lost !== undefined) return answered(false, null);
    const exchange: Exchange = { bytes, message: keepMessage ? [] : null, sawData: false, answered };
    if (this.#waiting.length > 0 || this.#sendWindow < this.#template.dataLength) this.#waiting.push(exchange);
    else this.#write(exchange);
  }

  close(): void {
    this.#socket.end();
  }

  #write(exchange: Exchange): void {
    const streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    setStreamId(exchange.bytes, this.#template, streamId);
    this.#open.set(streamId, exchange);
    this.#sendWindow -= this.#template.dataLength;
    this.#socket.write(exchange.bytes);
  }

  #read(chunk: Buffer): void {
    const bytes = this.#leftover === undefined ? chunk : Buffer.concat([this.#leftover, chunk]);
    let at = 0;
    // Requests sent while handling these frames (the next one of each answered lane) go out in one write.
    this.#socket.cork();
    while (bytes.length - at >= FRAME_HEADER_LENGTH) {
      const length = bytes.readUIntBE(at, 3);
      if (bytes.length - at < FRAME_HEADER_LENGTH + length) break;
      const payload = bytes.subarray(at + FRAME_HEADER_LENGTH, at + FRAME_HEADER_LENGTH + length);
      this.#frame(bytes[at + 3]!, bytes[at + 4]!, bytes.readUInt32BE(at + 5) & 0x7fffffff, payload);
      at += FRAME_HEADER_LENGTH + length;
    }
    this.#leftover = at < bytes.length ? bytes.subarray(at) : undefined;
    this.#socket.uncork();
  }

  #frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case FrameType.Data: {
        this.#received += payload.length;
        if (this.#received >= CREDIT_AFTER) {
          this.#socket.write(windowUpdate(0, this.#received));
          this.#received = 0;
        }
        const exchange = this.#open.get(streamId);
        if (exchange === undefined) return;
        exchange.sawData = true;
        exchange.message?.push(payload);
        // gRPC ends a stream with trailers: data that ends it is not a complete answer.
        if (flags & Flag.EndStream) this.#end(streamId, false);
        return;
      }
      case FrameType.Headers:
        if (flags & Flag.EndStream) this.#end(streamId, this.#open.get(streamId)?.sawData === true);
        return;
      case FrameType.RstStream:
        return this.#end(streamId, false);
      case FrameType.Settings:
        if (!(flags & Flag.Ack)) this.#socket.write(frame(FrameType.Settings, Flag.Ack, 0, Buffer.alloc(0)));
        return;
      case FrameType.Ping:
        if (!(flags & Flag.Ack)) this.#socket.write(frame(FrameType.Ping, Flag.Ack, 0, payload));
        return;
      case FrameType.Goaway:
        this.lost ??= "the server sent GOAWAY";
        return;
      case FrameType.WindowUpdate:
        if (streamId !== 0) return;
        this.#sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
        while (this.#waiting.length > 0 && this.#sendWindow >= this.#template.dataLength) this.#write(this.#waiting.shift()!);
        return;
    }
  }

  #end(streamId: number, ok: boolean): void {
    const exchange = this.#open.get(streamId);
    if (exchange === undefined) return;
    this.#open.delete(streamId);
    exchange.answered(ok, exchange.message);
  }

  #closed(): void {
    this.lost ??= "connection closed";
    const unanswered = [...this.#open.values(), ...this.#waiting.splice(0)];
    this.#open.clear();
    for (const exchange of unanswered) exchange.answered(false, null);
  }
}
