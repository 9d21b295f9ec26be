import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { AdminRpcObserver } from "./metrics.js";

/**
 * Counts every admin RPC by method and code and times it. Put it first (outermost), so it sees the
 * code the client sees, after the logging interceptor turned unexpected errors into `internal`.
 */
export function rpcMetrics(observer: AdminRpcObserver, nowMs: () => number = () => performance.now()): Interceptor {
  return (next) => async (req) => {
    const started = nowMs();
    const finish = (error: unknown) =>
      observer.finished(req.method.name, error === undefined ? "OK" : Code[ConnectError.from(error).code], (nowMs() - started) / 1000);
    let response;
    try {
      response = await next(req);
    } catch (error) {
      finish(error);
      throw error;
    }
    if (!response.stream) {
      finish(undefined);
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        // A stream the client walks away from ends in neither branch: it counts as canceled.
        let outcome: unknown = new ConnectError("stream abandoned", Code.Canceled);
        try {
          yield* messages;
          outcome = undefined;
        } catch (error) {
          outcome = error;
          throw error;
        } finally {
          finish(outcome);
        }
      })(),
    };
  };
}
