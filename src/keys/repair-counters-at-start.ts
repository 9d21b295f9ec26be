import type { Logger } from "../log/logger.js";
import { describeCorrection } from "../store/counter-repair.js";
import type { Store } from "../store/store.js";

/** Corrections named one by one in the log line; beyond, the line gives their number only. */
const LOGGED_CORRECTIONS = 50;

/**
 * The counters that bound keys, counted again at start (Store.repairCounters): a write whose
 * outcome a failover hid can have left one wrong, and nothing else would ever set it right. A
 * safety net, not a precondition: when the repair fails, it is logged and keygate starts on the
 * counters as they are (`keygate repair-counters` runs it again on demand). Resolves either way.
 */
export async function repairCountersAtStart(store: Pick<Store, "repairCounters">, logger: Logger): Promise<void> {
  const started = performance.now();
  try {
    const { checked, corrections } = await store.repairCounters();
    const durationMs = Math.round(performance.now() - started);
    if (corrections.length === 0) {
      logger.info({ checked, durationMs }, "key counters checked: all right");
      return;
    }
    logger.warn(
      { checked, corrected: corrections.length, corrections: corrections.slice(0, LOGGED_CORRECTIONS).map(describeCorrection), durationMs },
      "key counters were wrong and are repaired",
    );
  } catch (error) {
    logger.error({ err: error }, "key counter repair failed; starting on the counters as they are");
  }
}
