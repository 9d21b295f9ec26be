import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { DescMethod } from "@bufbuild/protobuf";
import type { Logger } from "../log/logger.js";
import { isOutcomeUnknown, isStoreUnavailable } from "../store/errors.js";
import { rpcOutcome } from "../rpc/rpc-outcome.js";
import { callerContextKey } from "./caller.js";
import { isChangeRpc } from "./change-rpcs.js";
import { adminError } from "./errors.js";

/**
 * One log line per RPC (method, code, duration, caller key id, organization), and the single
 * place where unexpected errors become `internal`, logged once with their cause. Messages of
 * unexpected errors never reach the client. A store that failed is `unavailable`, never
 * `internal`, with a reason a client can act on: STORE_UNAVAILABLE (nothing was changed, retry)
 * or, for an RPC that changes something, CHANGE_MAY_HAVE_BEEN_APPLIED (the store did not confirm
 * the change: retry with the same idempotency key, which answers with the first answer).
 */
export function rpcLogging(logger: Logger): Interceptor {
  const toConnectError = (error: unknown, method: DescMethod): ConnectError => {
    if (error instanceof ConnectError) return error;
    const name = `${method.parent.typeName}/${method.name}`;
    if (isStoreUnavailable(error)) {
      logger.error({ method: name, err: error }, "store unavailable");
      const changes = isChangeRpc(method);
      const failure =
        changes && isOutcomeUnknown(error)
          ? adminError("CHANGE_MAY_HAVE_BEEN_APPLIED", "the store did not confirm the change, which may have been applied; retry with the same idempotency-key header")
          : adminError("STORE_UNAVAILABLE", changes ? "store unavailable; nothing was changed, retry later" : "store unavailable, retry later");
      failure.cause = error;
      return failure;
    }
    logger.error({ method: name, err: error }, "unexpected error");
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
    (error, req) => toConnectError(error, req.method),
  );
}
