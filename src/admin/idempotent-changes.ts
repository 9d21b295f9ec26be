import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { ReceiptSealing } from "../crypto/receipt-sealing.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import { callerOf } from "./caller.js";
import { isChangeRpc } from "./change-rpcs.js";
import { fieldError } from "./errors.js";
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeyOf } from "./idempotency-key.js";
import { answerFor, receiptContents, requestFingerprint } from "./receipt-contents.js";

/**
 * How long a change's first answer is kept for its retries: a day, far longer than any client
 * retries an answer that never arrived, short enough that receipts do not pile up.
 */
export const RECEIPT_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** Set on an answer that is a receipt's, so a client can tell its retry changed nothing. */
export const REPLAYED_HEADER = "idempotent-replayed";

export interface IdempotentChangesDeps {
  store: Store;
  sealing: ReceiptSealing;
  clock: Clock;
}

type Message = MessageShape<DescMessage>;
type Handler = (req: Message, ctx: HandlerContext) => Promise<unknown>;
type Outcome = { answer: Message; replayed: boolean } | { refusal: ConnectError };

/**
 * Change RPCs (change-rpcs.ts) sent with an `idempotency-key` header are carried out at most
 * once per caller key and idempotency key: a retry, after an answer that was lost or said the
 * change may have been applied, gets the first answer instead of a second change.
 *
 * The handler runs inside one unit of work (Store.atomically) with the receipt: looked up first,
 * saved after the handler answered, so the change and its receipt commit together. A retry
 * therefore finds the receipt, or the change was not applied and runs again. Two calls with the
 * same key at once: the embedded store runs units one at a time; on MongoDB both transactions
 * write the receipt's id, one loses the conflict and runs again, finding the winner's receipt.
 *
 * Refusals (any ConnectError) are not kept, so a retry is decided afresh; the unit still commits
 * what the refusal wrote (its audit entry), as it would without the header. Other errors abort
 * the unit. A receipt found for another request (another method or body) is refused, and a
 * receipt is only ever found by the caller key that made it (crypto/receipt-sealing.ts).
 *
 * It wraps the handlers rather than intercepting them: an interceptor that answers without
 * calling on has no hold on the protocol's own response headers and trailers (Connect replaces
 * them with the interceptor's), so the answer would lose its content type and gRPC status. A
 * handler runs after every interceptor, caller authentication included, which gives it the
 * caller key its receipts belong to. Without the header, and for reads and streams, the handler
 * runs as it would unwrapped.
 */
export class IdempotentChanges {
  readonly #deps: IdempotentChangesDeps;

  constructor(deps: IdempotentChangesDeps) {
    this.#deps = deps;
  }

  /** The service's handlers, each change RPC's answered at most once per idempotency key. */
  of<S extends DescService>(service: S, handlers: ServiceImpl<S>): ServiceImpl<S> {
    const wrapped: Record<string, Handler> = {};
    for (const method of service.methods) {
      const handler = (handlers as unknown as Record<string, Handler>)[method.localName]!;
      wrapped[method.localName] = isChangeRpc(method) ? (req, ctx) => this.#handle(method, req, ctx, handler) : handler;
    }
    return wrapped as unknown as ServiceImpl<S>;
  }

  async #handle(method: DescMethod, req: Message, ctx: HandlerContext, handler: Handler): Promise<unknown> {
    const idempotencyKey = idempotencyKeyOf(ctx.requestHeader);
    if (idempotencyKey === undefined) return handler(req, ctx);
    const { store, sealing, clock } = this.#deps;
    const receipt = sealing.forRequest(callerOf(ctx).key.id, idempotencyKey);
    const fingerprint = requestFingerprint(method, req);

    const outcome = await store.atomically(async (): Promise<Outcome> => {
      const now = new Date(clock.now());
      const found = await store.receipts.find(receipt.id, now);
      if (found !== null) {
        const answer = answerFor(receipt.open(found.sealed), fingerprint);
        if (answer === undefined) {
          return { refusal: fieldError(IDEMPOTENCY_KEY_HEADER, "was already used for another request (another method or body); send a new key with each new change") };
        }
        return { answer: fromBinary(method.output, answer), replayed: true };
      }
      let answer: Message;
      try {
        const given = await handler(req, ctx);
        answer = isMessage(given, method.output) ? given : create(method.output, given as never);
      } catch (error) {
        if (error instanceof ConnectError) return { refusal: error };
        throw error;
      }
      const contents = receiptContents(fingerprint, toBinary(method.output, answer));
      await store.receipts.save({ id: receipt.id, sealed: receipt.seal(contents), expiresAt: new Date(now.getTime() + RECEIPT_LIFETIME_MS) }, now);
      return { answer, replayed: false };
    }, ctx.signal);
    if ("refusal" in outcome) throw outcome.refusal;
    if (outcome.replayed) ctx.responseHeader.set(REPLAYED_HEADER, "true");
    return outcome.answer;
  }
}
