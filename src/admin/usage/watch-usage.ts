import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import {
  UsageCountersSchema,
  WatchUsageResponseSchema,
  type UsageCounters,
  type WatchUsageRequest,
  type WatchUsageResponse,
} from "../../../gen/keygate/v1/key_admin_pb.js";
import { callerOf } from "../caller.js";
import { keyNotFound } from "../errors.js";
import type { Store } from "../../store/store.js";
import type { Clock } from "../../time/clock.js";
import { endpointsOf } from "../../usage/usage-figures.js";
import type { UsageAggregator } from "../../usage/usage-recorder.js";
import { addTally, allowedOf, deniedOf, emptyTally, throttledOf, type KeyDayUsage, type UsageTally } from "../../model/usage-tally.js";
import type { UsageWatchers } from "./usage-watchers.js";

/**
 * WatchUsage: a server stream for the caller's organization, or one of its keys. It opens with a
 * snapshot of today, then sends an event after each flush that wrote usage in scope (what changed
 * since the previous event, and today's totals as stored), and a snapshot every heartbeat while
 * idle so proxies keep the stream open. Works over Connect on HTTP/1.1 (browsers), gRPC and
 * gRPC-Web. When the client goes, the flush listener, the heartbeat timer and the abort listeners
 * all go with it; when the server shuts down, the stream ends normally (the client reconnects,
 * to another replica) instead of holding the shutdown until its deadline. "since_last" covers
 * usage this process flushed; "today" is the store's, so it includes other replicas. Streams are
 * capped per caller key and organization, and share their reads of "today" (usage-watchers.ts).
 */

export interface WatchUsageDeps {
  store: Pick<Store, "keys">;
  watchers: UsageWatchers;
  recorder: Pick<UsageAggregator, "onFlushed">;
  clock: Clock;
  heartbeatMs: number;
  /** Aborted when the server begins to shut down: open streams then end normally. */
  stopping: AbortSignal;
}

const counters = (tally: UsageTally): UsageCounters =>
  create(UsageCountersSchema, { allowed: BigInt(allowedOf(tally)), denied: BigInt(deniedOf(tally)), rateLimited: BigInt(throttledOf(tally)) });

export function watchUsage(deps: WatchUsageDeps) {
  const { store, clock } = deps;

  return async function* (req: WatchUsageRequest, ctx: HandlerContext): AsyncGenerator<WatchUsageResponse> {
    const caller = callerOf(ctx);
    const organizationId = caller.organization.id;
    let keyId = "";
    if (req.keyId !== "") {
      const key = await store.keys.findById(organizationId, req.keyId);
      if (!key) throw keyNotFound(req.keyId);
      keyId = key.id;
    }
    const watch = deps.watchers.open(caller.key.id, organizationId, keyId);
    const inScope = (usage: KeyDayUsage) => usage.organizationId === organizationId && (keyId === "" || usage.keyId === keyId);

    async function event(sinceLast: UsageTally): Promise<WatchUsageResponse> {
      const observedAt = timestampFromDate(new Date(clock.now()));
      const today = await watch.today();
      return create(WatchUsageResponseSchema, {
        observedAt,
        keyId,
        sinceLast: counters(sinceLast),
        today: counters(today),
        endpoints: endpointsOf([sinceLast]),
      });
    }

    // Flushed usage is summed here until the stream sends it; memory stays that of one tally.
    let sinceLast = emptyTally();
    let changed = false;
    let heartbeatDue = false;
    let wake: (() => void) | undefined;
    const stopListening = deps.recorder.onFlushed(({ entries }) => {
      const written = entries.filter(inScope);
      if (written.length === 0) return;
      for (const usage of written) addTally(sinceLast, usage.tally);
      changed = true;
      // This flush wrote to the scope: the stored totals its streams share are out of date.
      watch.flushed();
      wake?.();
    });
    const heartbeat =
      deps.heartbeatMs > 0
        ? setInterval(() => {
            heartbeatDue = true;
            wake?.();
          }, deps.heartbeatMs)
        : undefined;
    const onAbort = () => wake?.();
    ctx.signal.addEventListener("abort", onAbort);
    deps.stopping.addEventListener("abort", onAbort);
    try {
      yield await event(emptyTally());
      while (!ctx.signal.aborted && !deps.stopping.aborted) {
        if (!changed && !heartbeatDue) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        const sending = sinceLast;
        sinceLast = emptyTally();
        changed = heartbeatDue = false;
        yield await event(sending);
      }
    } finally {
      watch.close();
      stopListening();
      clearInterval(heartbeat);
      ctx.signal.removeEventListener("abort", onAbort);
      deps.stopping.removeEventListener("abort", onAbort);
    }
  };
}
