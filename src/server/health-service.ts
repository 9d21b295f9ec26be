import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb.js";
import type { Readiness, ServingState } from "./readiness.js";

/**
 * Service names health answers for: "" (the whole server) and each served service, the access
 * log's too, so Envoy can health-check the cluster it sends access logs to by that name.
 */
const KNOWN_SERVICES = new Set([
  "",
  "keygate.v1.KeyAdminService",
  "keygate.v1.OperatorService",
  "envoy.service.auth.v3.Authorization",
  "envoy.service.accesslog.v3.AccessLogService",
]);

const response = (state: ServingState): HealthCheckResponse =>
  create(HealthCheckResponseSchema, { status: state === "serving" ? ServingStatus.SERVING : ServingStatus.NOT_SERVING });

/** grpc.health.v1.Health, answered from the readiness state. */
export function healthRoutes(readiness: Readiness) {
  return (router: ConnectRouter) =>
    router.service(Health, {
      async check(req) {
        if (!KNOWN_SERVICES.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
        return response(await readiness.refresh());
      },

      async *watch(req, ctx) {
        if (!KNOWN_SERVICES.has(req.service)) {
          yield create(HealthCheckResponseSchema, { status: ServingStatus.SERVICE_UNKNOWN });
          return;
        }
        // Changes are queued by a listener and drained here; the listeners go when the client does.
        const pending: ServingState[] = [await readiness.refresh()];
        let wake: (() => void) | undefined;
        const stop = readiness.onChange((state) => {
          pending.push(state);
          wake?.();
        });
        const onEnd = () => wake?.();
        ctx.signal.addEventListener("abort", onEnd);
        readiness.stopping.addEventListener("abort", onEnd);
        try {
          while (!ctx.signal.aborted) {
            const state = pending.shift();
            if (state !== undefined) {
              yield response(state);
              continue;
            }
            // Shutting down, and NOT_SERVING sent: the stream ends normally, so it does not hold
            // the shutdown until its deadline and then get reset (a watching client would keep it).
            if (readiness.stopping.aborted) return;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          stop();
          ctx.signal.removeEventListener("abort", onEnd);
          readiness.stopping.removeEventListener("abort", onEnd);
        }
      },
    });
}
