import { createContextKey, type ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * What the data plane's services (Check, the access-log service) know of their caller, and what
 * they need of the data plane's trust boundary (contract: "The data plane's trust boundary"),
 * which the server implements (src/server/data-plane-boundary.ts): the services below the server
 * see only this contract.
 */

export interface DataPlaneCaller {
  /** True when the call passed a configured boundary: the token, or the data plane's own listener. */
  readonly passedBoundary: boolean;
  /** The TCP peer as the socket reports it (Envoy, for a real call), when known. */
  readonly peer: string | undefined;
}

/** Before any boundary was checked (a handler reached without the interceptor): nothing passed. */
const UNCHECKED: DataPlaneCaller = { passedBoundary: false, peer: undefined };

/** Who called, as the boundary judged it; set by the boundary's interceptor. */
export const dataPlaneCallerKey = createContextKey<DataPlaneCaller>(UNCHECKED, { description: "data-plane caller" });

/** The data plane's boundary as its services use it. */
export interface DataPlaneGate {
  /**
   * The caller of a data-plane call (`method`: Check or StreamAccessLogs, a metric label) from its
   * `authorization` metadata and TCP peer, or the error that refuses it. The error never repeats
   * what was sent. For paths that see the call's headers before Connect does (the lean gRPC path).
   */
  admit(authorization: string | undefined, peer: string | undefined, method: string): DataPlaneCaller | ConnectError;
  /**
   * For Connect's routes of the data plane's services: refuses the callers the boundary refuses,
   * and puts the others under dataPlaneCallerKey.
   */
  readonly interceptor: Interceptor;
}
