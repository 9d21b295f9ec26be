import type { DescMethod } from "@bufbuild/protobuf";
import { createContextKey, type ContextValues } from "@connectrpc/connect";

/**
 * What a service decides about a call from its headers alone, before keygate reads a byte of its
 * body (src/server/rpc-adapter.ts). The admin services authenticate their caller here, so that
 * nobody without a valid key can make keygate read, buffer or parse a body.
 *
 * A refused call still runs through the service's interceptors (logging, metrics), with an empty
 * request message and the refusal under admissionRefusalKey: the service's interceptors must
 * throw it (src/admin/caller-interceptor.ts does), so that the refusal is the answer.
 */
export interface RpcAdmission {
  /**
   * Resolves to let the call read its body and run (it may put what it learnt into
   * `contextValues` for the interceptors), or rejects with what the client should get.
   */
  admit(call: { method: DescMethod; header: Headers; contextValues: ContextValues }): Promise<void>;
  /** The largest request message the service takes from an admitted caller. */
  maxBody: BodyLimit;
  /**
   * What an admitted call whose Connect JSON message does not decode (an unknown field, a value
   * of the wrong type) is refused with, in place of Connect's error, which carries no ErrorInfo.
   * The call runs with an empty message and this under undecodableMessageKey, for the service's
   * interceptors to throw once they have decided whether the caller may make the call at all.
   */
  undecodable?(problem: Error): unknown;
}

/** A size limit of request messages, and where it comes from (a setting), named in refusals. */
export interface BodyLimit {
  bytes: number;
  origin: string;
}

/**
 * What the service's admission threw when it refused the call, as thrown (the interceptors map
 * errors that are not a ConnectError, e.g. an unreachable store), for the interceptor that throws it.
 */
export const admissionRefusalKey = createContextKey<{ thrown: unknown } | undefined>(undefined, { description: "admission refusal" });

/** What the admission's `undecodable` made of a request message that did not decode, as thrown. */
export const undecodableMessageKey = createContextKey<{ thrown: unknown } | undefined>(undefined, { description: "undecodable request message" });
