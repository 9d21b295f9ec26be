import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../log/logger.js";
import { isStoreUnavailable } from "../store/errors.js";
import { rpcOutcome } from "../rpc/rpc-outcome.js";
import { callerContextKey } from "./caller.js";

/**
 * One log line per RPC (method, code, duration, caller key id, organization), and the single
 * place where unexpected errors become `internal` (or `unavailable` when the store is down),
 * logged once with their cause. Messages of unexpected errors never reach the client.
 */
export function rpcLogging(logger: Logger): Interceptor {
  const toConnectError = (error: unknown, method: string): ConnectError => {
    if (error instanceof ConnectError) return error;
    if (isStoreUnavailable(error)) {
      logger.error({ method, err: error }, "store unavailable");
      return new ConnectError("store unavailable, retry later", Code.Unavailable, undefined, undefined, error);
    }
    logger.error({ method, err: error }, "unexpected error");
    return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
  };

  return rpcOutcome(
    (req, error, durationMs) => {
      const caller = req.contextValues.get(callerContextKey);
      logger.info(
        {
          method: `${req.service.typeName}/${req.method.name}`,
          code: error ? Code[error.code] : "OK",
          durationMs: Math.round(durationMs * 100) / 100,
          callerKeyId: caller?.key.id,
          organizationId: caller?.organization.id,
          ...(error && error.code !== Code.Internal ? { error: error.rawMessage } : {}),
        },
        "rpc",
      );
    },
    (error, req) => toConnectError(error, `${req.service.typeName}/${req.method.name}`),
  );
}
