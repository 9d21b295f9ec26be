import { Code, type Interceptor } from "@connectrpc/connect";
import { rpcOutcome } from "../rpc/rpc-outcome.js";
import type { AdminRpcObserver } from "./metrics.js";

/**
 * Counts every admin RPC by method and code and times it. Put it outside the logging interceptor
 * (src/app.ts puts only no-store.ts, which changes no code, further out), so it sees the code the
 * client sees, after the logging interceptor turned unexpected errors into `internal`.
 */
export function rpcMetrics(observer: AdminRpcObserver, nowMs: () => number = () => performance.now()): Interceptor {
  return rpcOutcome(
    (req, error, durationMs) => observer.finished(req.method.name, error === undefined ? "OK" : Code[error.code], durationMs / 1000),
    undefined,
    nowMs,
  );
}
