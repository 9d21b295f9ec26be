import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { DescMethod } from "@bufbuild/protobuf";
import type { Logger } from "../log/logger.js";
import { isOutcomeUnknown, isStoreUnavailable } from "../store/errors.js";
import { rpcOutcome } from "../rpc/rpc-outcome.js";
import { callerContextKey } from "./caller.js";
import { isChangeRpc } from "./change-rpcs.js";
import { adminError } from "./errors.js";
import { IDEMPOTENCY_KEY_HEADER } from "./idempotency-key.js";

/**
 * One log line per RPC (method, code, duration, caller key id, organization), and the single
 * place where unexpected errors become `internal`, logged once with their cause. Messages of
 * unexpected errors never reach the client. A store that failed is `unavailable`, never
 * `internal`, with a reason a client can act on: STORE_UNAVAILABLE (nothing was changed, retry)
 * or, for an RPC that changes something, CHANGE_MAY_HAVE_BEEN_APPLIED: the store did not confirm
 * the change, or the change did not run as one unit (sent without an idempotency-key header, its
 * writes commit one by one, so a failure may follow some that did). A retry with the same
 * idempotency key answers with the first answer.
 */
export function rpcLogging(logger: Logger): Interceptor {
  const toConnectError = (error: unknown, method: DescMethod, header: Headers): ConnectError => {
    if (error instanceof ConnectError) return error;
    const name = `${method.parent.typeName}/${method.name}`;
    if (isStoreUnavailable(error)) {
      logger.error({ method: name, err: error }, "store unavailable");
      const changes = isChangeRpc(method);
      const asOneUnit = header.get(IDEMPOTENCY_KEY_HEADER) !== null;
      const failure = !changes
        ? adminError("STORE_UNAVAILABLE", "store unavailable, retry later")
        : isOutcomeUnknown(error)
          ? adminError("CHANGE_MAY_HAVE_BEEN_APPLIED", "the store did not confirm the change, which may have been applied; retry with the same idempotency-key header")
          : asOneUnit
            ? adminError("STORE_UNAVAILABLE", "store unavailable; nothing was changed, retry later")
            : adminError("CHANGE_MAY_HAVE_BEEN_APPLIED", "the store failed during the change, which may have been applied in part; send changes with an idempotency-key header to retry them safely");
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
    (error, req) => toConnectError(error, req.method, req.header),
  );
}
