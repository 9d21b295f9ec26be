import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * node:http's own requestTimeout is enforced only by servers that listen themselves, and keygate's
 * HTTP/1.1 server is handed its connections by the protocol sniffer (protocol-sniffing.ts), like
 * its headers timeout. So a request whose body trickles in (a byte every few seconds keeps the
 * socket from ever being idle) would hold its connection forever. Once the deadline passes and
 * the body has still not fully arrived, the connection is closed: HTTP/1.1 cannot end one
 * request alone. Answers may take longer (a WatchUsage stream): only receiving is bounded.
 */
export function bodyDeadline(req: IncomingMessage, res: ServerResponse, deadlineMs: number): void {
  const timer = setTimeout(() => {
    if (!req.complete) req.socket.destroy();
  }, deadlineMs);
  timer.unref();
  const clear = () => clearTimeout(timer);
  req.once("end", clear);
  res.once("close", clear);
}
