import { Counter, type Registry } from "prom-client";

/**
 * A prom-client counter fed from plain numbers: the request path adds to a tally per label set
 * (found by one string, its labels made once), and the counter takes the increments when
 * Prometheus scrapes. prom-client's own `inc` builds a label-hash string and validates the labels
 * on every call, even through a `labels(...)` child, which the hot-key profile showed per Check.
 */

/** One label set's count, and what the exposed counter already holds of it. */
interface Tally {
  readonly labels: Record<string, string>;
  counted: number;
  reported: number;
}

/** Counts by label set, handed to a prom-client counter as increments at each scrape. */
export class CounterFeed {
  readonly #byKey = new Map<string, Tally>();
  readonly #labelsOf: (key: string) => Record<string, string>;
  readonly #counter: Counter<string>;

  constructor(registry: Registry, name: string, help: string, labelNames: string[], labelsOf: (key: string) => Record<string, string>) {
    this.#labelsOf = labelsOf;
    const feed = this.#byKey;
    this.#counter = new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const tally of feed.values()) {
          if (tally.counted === tally.reported) continue;
          this.inc(tally.labels, tally.counted - tally.reported);
          tally.reported = tally.counted;
        }
      },
    });
  }

  /** Shows the label set `key` stands for from the start, at 0, rather than no series. */
  present(key: string): void {
    this.#counter.inc(this.#tally(key).labels, 0);
  }

  /** Counts one for the label set `key` stands for (its labels made once, at its first count). */
  add(key: string): void {
    this.#tally(key).counted++;
  }

  #tally(key: string): Tally {
    let tally = this.#byKey.get(key);
    if (tally === undefined) this.#byKey.set(key, (tally = { labels: this.#labelsOf(key), counted: 0, reported: 0 }));
    return tally;
  }
}
