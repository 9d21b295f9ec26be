/** Time as keygate reads it; tests pass a ManualClock and move it instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  #now: number;

  constructor(start: number | Date = Date.UTC(2026, 0, 15, 12, 0, 0)) {
    this.#now = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  set(at: number | Date): void {
    this.#now = typeof at === "number" ? at : at.getTime();
  }
}
