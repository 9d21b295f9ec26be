import http2 from "node:http2";

/**
 * One gRPC call over a connection of its own, on node:http2, with what a test of the data plane's
 * boundary needs to choose: the local address the connection comes from (another TCP peer on
 * loopback: 127.0.0.2), the call's metadata (the data-plane token), TLS with or without a client
 * certificate, and whether the request body ever ends.
 */
export interface GrpcCallOptions {
  /** Request messages, each sent in its own envelope (several for a client stream). */
  messages?: Uint8Array[];
  /** Send the messages and end the request (default), or send nothing and never end it. */
  endRequest?: boolean;
  metadata?: Record<string, string>;
  localAddress?: string;
  /** For https:// URLs: the CA to trust and the client certificate to present, if any. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

export interface GrpcAnswer {
  /** The HTTP status, or undefined when the connection failed before a response. */
  httpStatus: number | undefined;
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  /** The response messages' bytes. */
  messages: Uint8Array[];
  /** Why the connection or stream failed, when it did. */
  error: string | undefined;
}

function envelope(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

function unenvelope(body: Buffer): Uint8Array[] {
  const messages: Uint8Array[] = [];
  for (let offset = 0; offset + 5 <= body.length; ) {
    const length = body.readUInt32BE(offset + 1);
    messages.push(body.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return messages;
}

export function grpcCall(baseUrl: string, path: string, options: GrpcCallOptions = {}): Promise<GrpcAnswer> {
  return new Promise((resolve) => {
    const session = http2.connect(baseUrl, {
      ...(options.localAddress !== undefined && { localAddress: options.localAddress }),
      ...(options.tls !== undefined && { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, servername: "localhost" }),
    });
    const answer: GrpcAnswer = { httpStatus: undefined, grpcStatus: undefined, grpcMessage: undefined, messages: [], error: undefined };
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      session.destroy();
      resolve(answer);
    };
    const status = (headers: http2.IncomingHttpHeaders) => {
      if (headers["grpc-status"] !== undefined) answer.grpcStatus = Number(headers["grpc-status"]);
      if (headers["grpc-message"] !== undefined) answer.grpcMessage = decodeURIComponent(String(headers["grpc-message"]));
    };
    session.on("error", (error) => {
      answer.error = (error as NodeJS.ErrnoException).code ?? error.message;
      settle();
    });
    session.on("close", settle);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...options.metadata,
    });
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => {
      answer.httpStatus = Number(headers[":status"]);
      status(headers);
    });
    stream.on("trailers", status);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (error) => (answer.error ??= (error as NodeJS.ErrnoException).code ?? error.message));
    // The server's end of the stream, even when ours never ends (endRequest: false).
    const finish = () => {
      answer.messages = unenvelope(Buffer.concat(chunks));
      settle();
    };
    stream.on("end", finish);
    stream.on("close", finish);
    if (options.endRequest === false) return;
    for (const message of options.messages ?? []) stream.write(envelope(message));
    stream.end();
  });
}
