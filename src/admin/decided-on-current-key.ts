import { Code, type HandlerContext } from "@connectrpc/connect";
import { KeyChangedError } from "../store/key-as-seen.js";
import { adminError } from "./errors.js";

/** How many times one call decides on a key that keeps changing under it before it gives up. */
const DECISIONS = 3;

/**
 * A key handler that reads the key, has the policy decide on it, and writes it given the key as it
 * was read (store/key-as-seen.ts). When another caller changed the key in between (a more
 * privileged one re-owning or broadening it, say), the store wrote nothing and the whole call runs
 * again on the key as it is now, so the decision is the policy's on that key: a refusal then is
 * the ordinary refusal (permission_denied, audited). Before its write a handler only reads and
 * checks, so running it again does nothing twice.
 *
 * A key changed under every attempt is answered `aborted` (retry the call), with the contract's
 * reason PERMISSION_DENIED since it lists none for conflicts: the call was not carried out.
 */
export function decidedOnCurrentKey<Req, Res>(
  handler: (req: Req, ctx: HandlerContext) => Promise<Res>,
): (req: Req, ctx: HandlerContext) => Promise<Res> {
  return async (req, ctx) => {
    for (let decision = 1; ; decision++) {
      try {
        return await handler(req, ctx);
      } catch (error) {
        if (!(error instanceof KeyChangedError)) throw error;
        if (decision === DECISIONS) {
          throw adminError(
            "PERMISSION_DENIED",
            `id: key ${error.keyId} changed while this call decided on it, ${DECISIONS} times; nothing was changed, try again`,
            { field: "id" },
            Code.Aborted,
          );
        }
      }
    }
  };
}
