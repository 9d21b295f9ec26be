import type { BudgetLease, BudgetLeaseRepository, BudgetLeaseRequest } from "../store.js";
import { systemClock, type Clock } from "../../time/clock.js";
import { windowAt } from "../../time/budget-windows.js";

interface BudgetWindow {
  startMs: number;
  endMs: number;
  granted: number;
  held: Map<string, number>;
  unseeded: boolean;
}

/**
 * Budgets leased by window, in memory, with the same rules as MongoBudgetLeases. The embedded
 * store serves one process, whose limits count exactly without leases, so keygate itself never
 * leases from it; it is here so the leasing logic and the store contract are tested without MongoDB.
 */
export class MemoryBudgetLeases implements BudgetLeaseRepository {
  readonly #windows = new Map<string, BudgetWindow>();

  constructor(private readonly clock: Clock = systemClock) {}

  async lease(requests: BudgetLeaseRequest[]): Promise<BudgetLease[]> {
    const nowMs = this.clock.now();
    return requests.map((request) => this.#leaseOne(request, nowMs));
  }

  async seed(bucket: string, windowStartMs: number, units: number): Promise<void> {
    const window = this.#windows.get(bucket);
    if (window === undefined || window.startMs !== windowStartMs || !window.unseeded) return;
    window.unseeded = false;
    window.granted += Math.max(0, Math.floor(units));
  }

  #leaseOne(request: BudgetLeaseRequest, nowMs: number): BudgetLease {
    const current = request.window === undefined ? windowAt(request.unit, nowMs) : { startMs: request.window.startMs, endMs: request.window.endMs ?? Infinity };
    let window = this.#windows.get(request.bucket);
    // A window only moves forward: a clock that stepped back never reopens the one before.
    if (window === undefined || window.startMs < current.startMs) {
      window = { ...current, granted: 0, held: new Map(), unseeded: window === undefined };
      this.#windows.set(request.bucket, window);
    }
    const sameWindow = request.windowStartMs === window.startMs;
    const mine = window.held.get(request.holder) ?? 0;
    const applied = mine === (sameWindow ? request.held : 0);
    if (applied) {
      const floor = sameWindow ? request.floor : 0;
      const forced = Math.max(0, floor - mine);
      // An explicit window that ended grants nothing: an ask that comes late never reopens it.
      const grantable = !(request.seedFirst === true && window.unseeded) && !(request.window !== undefined && nowMs >= window.endMs);
      const change =
        request.want >= 0 ? (grantable ? Math.max(0, Math.min(request.want, request.limit - window.granted - forced)) : 0) : request.want;
      const held = Math.max(0, floor + change);
      window.granted += held - mine;
      window.held.set(request.holder, held);
    }
    return {
      bucket: request.bucket,
      windowStartMs: window.startMs,
      windowEndMs: window.endMs,
      storeNowMs: nowMs,
      held: window.held.get(request.holder) ?? 0,
      applied,
      granted: window.granted,
      holders: window.held.size,
      unseeded: window.unseeded,
    };
  }
}
