import type { Logger } from "../log/logger.js";

/**
 * Runs `task` every intervalMs, one run at a time (a run still going when the next is due skips
 * it). A task that fails (rejects, or resolves false) is logged when it starts failing and when it
 * succeeds again, not on every run, so a store outage gives two log lines, not one per interval.
 * Returns the stop function.
 */
export function every(
  intervalMs: number,
  task: () => Promise<boolean | void>,
  log: { logger: Pick<Logger, "warn" | "info">; failing: string; recovered: string },
): () => void {
  let running = false;
  let failing = false;
  const outcome = (ok: boolean, error?: unknown) => {
    if (ok === !failing) return;
    failing = !ok;
    if (failing) log.logger.warn(error === undefined ? {} : { err: error }, log.failing);
    else log.logger.info(log.recovered);
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .then((result) => outcome(result !== false), (error: unknown) => outcome(false, error))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
