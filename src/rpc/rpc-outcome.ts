import { Code, ConnectError, type Interceptor, type UnaryRequest, type StreamRequest } from "@connectrpc/connect";

type Request = UnaryRequest | StreamRequest;

/**
 * An interceptor that reports how each call ended: a unary call when it returns or throws, a
 * server stream when it ends, fails, or is abandoned by the client (reported as `canceled`, also
 * when the stream saw the client go and ended itself, as WatchUsage does), with its duration.
 * `toConnectError` may replace what was thrown; the replacement is what the client receives.
 */
export function rpcOutcome(
  onEnd: (req: Request, error: ConnectError | undefined, durationMs: number) => void,
  toConnectError: (error: unknown, req: Request) => ConnectError = (error) => ConnectError.from(error),
  nowMs: () => number = () => performance.now(),
): Interceptor {
  return (next) => async (req) => {
    const started = nowMs();
    const end = (error: ConnectError | undefined) => onEnd(req, error, nowMs() - started);
    let response;
    try {
      response = await next(req);
    } catch (error) {
      const connectError = toConnectError(error, req);
      end(connectError);
      throw connectError;
    }
    if (!response.stream) {
      end(undefined);
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        let outcome: ConnectError | undefined = new ConnectError("stream abandoned by the client", Code.Canceled);
        try {
          yield* messages;
          if (!req.signal.aborted) outcome = undefined;
        } catch (error) {
          outcome = toConnectError(error, req);
          throw outcome;
        } finally {
          end(outcome);
        }
      })(),
    };
  };
}
