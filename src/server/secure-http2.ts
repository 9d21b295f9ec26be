import http2 from "node:http2";

/** TLS for an HttpServer: a certificate and key, and the CAs whose client certificates it requires. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** Undefined: no client certificate asked for. */
  clientCa: Buffer | undefined;
}

/**
 * `http2.createServer`'s shape, serving TLS instead: HTTP/2 only (ALPN h2), TLS 1.2 or newer, and
 * with `clientCa` a verified client certificate of those CAs required, so the handshake refuses
 * every other peer before it can send a request (the data plane's listener,
 * src/server/data-plane-boundary.ts). A handshake must end within `handshakeTimeoutMs`, as a
 * clear-text connection must send its first bytes.
 */
export function secureHttp2(tls: ServerTls, handshakeTimeoutMs: number) {
  return (options: http2.ServerOptions, onRequest: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void): http2.Http2SecureServer =>
    http2.createSecureServer(
      {
        ...options,
        cert: tls.cert,
        key: tls.key,
        minVersion: "TLSv1.2",
        handshakeTimeout: handshakeTimeoutMs,
        ...(tls.clientCa !== undefined && { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
      },
      onRequest,
    );
}
