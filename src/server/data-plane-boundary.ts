import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Code, ConnectError, createContextKey, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { noDataPlaneObserver, type DataPlaneObserver } from "../metrics/observers.js";
import { dataPlaneCallerKey, type DataPlaneCaller, type DataPlaneGate } from "../rpc/data-plane-caller.js";
import { admissionRefusalKey, type BodyLimit, type RpcAdmission } from "../rpc/rpc-admission.js";

/**
 * The data plane's trust boundary (contract: "The data plane's trust boundary"; docs/security.md).
 * Check and the access-log service believe what their caller tells them: the client address a
 * Check names, the key and byte counts an access-log entry names. Only Envoy may call them, and a
 * call counts as Envoy's when it passed a configured boundary:
 *  - the token (KEYGATE_DATA_PLANE_TOKEN): `authorization: Bearer <token>` in the call's metadata,
 *    which Envoy sends from `grpc_service.initial_metadata`. Once set it is required on every
 *    data-plane call, on whichever listener, and a call without it fails `unauthenticated`. While
 *    it is rotated, KEYGATE_DATA_PLANE_TOKEN_PREVIOUS is accepted too, and each call admitted with
 *    it is counted, so operators see when every Envoy sends the new one (docs/security.md);
 *  - the listener (KEYGATE_DATA_PLANE_PORT): the call reached the data plane's own port, which the
 *    network admits only the mesh's proxies to (a NetworkPolicy, deploy/kubernetes). With
 *    KEYGATE_TLS_CLIENT_CA_FILE that listener's TLS handshake also refuses every peer without a
 *    client certificate of that CA, so a call on it has passed mTLS as well.
 * With neither configured, anyone who reaches PORT may call: such a call passes nothing. Check
 * still answers it (its own failed-key budget, src/abuse/failed-key-source.ts); the access-log
 * service refuses it.
 *
 * The services see it through its contract, src/rpc/data-plane-caller.ts (DataPlaneGate, and the
 * caller under dataPlaneCallerKey).
 */

/** The caller the admission let in from the headers, before the body was read. */
const admittedCallerKey = createContextKey<DataPlaneCaller | undefined>(undefined, { description: "data-plane caller admitted from the headers" });

/** The request's TCP peer, for the boundary's interceptor (Connect's interceptors see no socket). */
const transportPeerKey = createContextKey<string | undefined>(undefined, { description: "TCP peer" });

/** Adds the request's TCP peer to its context values (HttpServer's `contextValues`). */
export function withTransportPeer(values: ContextValues, req: IncomingMessage | Http2ServerRequest): ContextValues {
  return values.set(transportPeerKey, req.socket?.remoteAddress);
}

export interface DataPlaneBoundaryOptions {
  /** KEYGATE_DATA_PLANE_TOKEN, validated (config/data-plane.ts); undefined: no token. */
  token: string | undefined;
  /** KEYGATE_DATA_PLANE_TOKEN_PREVIOUS, accepted beside `token` during a rotation; only with `token`. */
  previousToken?: string | undefined;
  /** Told of every call admitted with the previous token; default: nobody. */
  observer?: DataPlaneObserver;
  /** True when Check and the access-log service are served on the data plane's own listener only. */
  ownListener: boolean;
}

const BEARER = /^bearer +(\S+)$/i;
const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

export class DataPlaneBoundary implements DataPlaneGate {
  /** The tokens' digests: equal-length buffers, so comparing takes the same time whatever was sent. */
  readonly #tokenDigest: Buffer | undefined;
  readonly #previousDigest: Buffer | undefined;
  readonly #ownListener: boolean;
  readonly #observer: DataPlaneObserver;

  constructor(options: DataPlaneBoundaryOptions) {
    if (options.previousToken !== undefined && options.token === undefined) throw new Error("a previous data-plane token needs a current one");
    this.#tokenDigest = options.token === undefined ? undefined : digest(options.token);
    this.#previousDigest = options.previousToken === undefined ? undefined : digest(options.previousToken);
    this.#ownListener = options.ownListener;
    this.#observer = options.observer ?? noDataPlaneObserver;
  }

  /** False when neither the token nor a listener of its own is configured: the data plane is open. */
  get configured(): boolean {
    return this.#tokenDigest !== undefined || this.#ownListener;
  }

  /**
   * The caller of a data-plane call (`method`: Check or StreamAccessLogs, a metric label) from its
   * `authorization` metadata and TCP peer, or the error that refuses it. The error never repeats
   * what was sent.
   */
  admit(authorization: string | undefined, peer: string | undefined, method: string): DataPlaneCaller | ConnectError {
    if (this.#tokenDigest !== undefined) {
      const presented = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
      const matched = presented === undefined ? "none" : this.#match(digest(presented));
      if (matched === "none") {
        return new ConnectError(
          `the data plane needs its data-plane token: authorization: Bearer <KEYGATE_DATA_PLANE_TOKEN> ${authorization === undefined ? "is missing" : "does not match"}`,
          Code.Unauthenticated,
        );
      }
      if (matched === "previous") this.#observer.admittedWithPreviousToken(method);
    }
    return { passedBoundary: this.configured, peer };
  }

  /**
   * Which token `presented` (a digest) is. Both comparisons always run, neither cut short by the
   * other, so the time taken tells no one whether the current or the previous token matched.
   */
  #match(presented: Buffer): "current" | "previous" | "none" {
    const current = timingSafeEqual(presented, this.#tokenDigest!);
    const previous = this.#previousDigest !== undefined && timingSafeEqual(presented, this.#previousDigest);
    return current ? "current" : previous ? "previous" : "none";
  }

  /**
   * For HttpServer's admissions, when a token is required: Check and the access log are refused
   * from their headers, before keygate reads, inflates or parses a byte of their body (Connect
   * parses a message before any interceptor runs). Undefined without a token: nothing in the
   * headers decides then, and the limits of services open to anyone apply.
   */
  admission(maxBody: BodyLimit): RpcAdmission | undefined {
    if (this.#tokenDigest === undefined) return undefined;
    return {
      maxBody,
      admit: async ({ method, header, contextValues }) => {
        const caller = this.admit(header.get("authorization") ?? undefined, contextValues.get(transportPeerKey), method.name);
        if (caller instanceof ConnectError) throw caller;
        contextValues.set(admittedCallerKey, caller);
      },
    };
  }

  /**
   * For Connect's routes of Check and the access-log service: answers the admission's refusal, or
   * records the caller it admitted, or (no admission ran: no token, or an in-memory transport)
   * judges the caller itself.
   */
  readonly interceptor: Interceptor = (next) => async (req) => {
    const refusal = req.contextValues.get(admissionRefusalKey);
    if (refusal !== undefined) throw refusal.thrown;
    const caller =
      req.contextValues.get(admittedCallerKey) ??
      this.admit(req.header.get("authorization") ?? undefined, req.contextValues.get(transportPeerKey), req.method.name);
    if (caller instanceof ConnectError) throw caller;
    req.contextValues.set(dataPlaneCallerKey, caller);
    return next(req);
  };
}
