import http from "node:http";
import type http2 from "node:http2";
import net from "node:net";

/**
 * Node's cleartext HTTP/2 server cannot fall back to HTTP/1.1 (`allowHTTP1` needs TLS/ALPN), yet
 * Envoy speaks h2c while curl and browsers speak HTTP/1.1 to the same port. The first bytes of a
 * connection tell them apart: HTTP/2 always opens with the preface "PRI * HTTP/2.0". The bytes
 * read to decide are put back before the socket is handed to the right server.
 */
const PREFACE_START = Buffer.from("PRI ");

export function listenBoth(http1: http.Server, http2Server: http2.Http2Server, firstBytesTimeoutMs: number): net.Server {
  return net.createServer({ noDelay: true }, (socket) => {
    let head: Buffer = Buffer.alloc(0);
    // A connection that sends too little to be told apart would otherwise be held forever.
    socket.setTimeout(firstBytesTimeoutMs, () => socket.destroy());
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.length < PREFACE_START.length) return;
      socket.setTimeout(0);
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      if (head.subarray(0, PREFACE_START.length).equals(PREFACE_START)) {
        // The HTTP/2 session reads what is buffered itself; resuming here would drain it away.
        http2Server.emit("connection", socket);
      } else {
        http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
}
