import { Registry, collectDefaultMetrics } from "prom-client";

/**
 * The process's own metrics (CPU, memory, event-loop delay, GC, handles): one set per process,
 * however many apps it runs. collectDefaultMetrics starts an event-loop monitor and a GC observer
 * that nothing stops, so collecting them per app added one of each with every app a process
 * started (a test worker starts hundreds), each waking every 10 ms for the rest of its life.
 */
let shared: Registry | undefined;

export function processRegistry(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
