import { Code, ConnectError } from "@connectrpc/connect";
import { checker } from "./check-client.js";

/**
 * Check load on limited keys over a group of keygate replicas, recorded answer by answer: open
 * loop (as Envoy sends them, a slow answer does not slow the next request), every tick one Check
 * of a key picked at random on each replica. Times are wall-clock ms (Date.now()), comparable
 * with the replica set's dates and the replicas' log lines.
 */

export interface LimitCheckRecord {
  replica: string;
  /** Index of the key in the load's keys. */
  key: number;
  startedAt: number;
  endedAt: number;
  /** "allowed", a denial's code, or `rpc:<Code>` when the RPC itself failed. */
  answer: string;
}

/**
 * A call that hangs is recorded as deadline_exceeded after this (an RPC failure the suite
 * reports), so the suite itself never hangs. Far longer than any bound it checks.
 */
const CLIENT_TIMEOUT_MS = 30_000;

interface Replica {
  name: string;
  check: ReturnType<typeof checker>;
}

export class LimitLoad {
  readonly checks: LimitCheckRecord[] = [];
  readonly #replicas: Replica[];
  readonly #secrets: string[];
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  /** `replicas`: name and base URL of each; `secrets`: the keys' secrets. */
  constructor(replicas: { name: string; url: string }[], secrets: string[]) {
    this.#replicas = replicas.map(({ name, url }) => ({ name, check: checker(url, { timeoutMs: CLIENT_TIMEOUT_MS }) }));
    this.#secrets = secrets;
  }

  /** One Check of every key on every replica, all answered: caches each key and opens its windows. */
  async checkEveryKey(): Promise<void> {
    for (const replica of this.#replicas) {
      for (let key = 0; key < this.#secrets.length; key++) this.#check(replica, key);
    }
    await this.#drain();
  }

  /** Every `tickMs`, one Check of a random key on each replica, until stop(). */
  start(tickMs: number): void {
    this.#timer = setInterval(() => {
      for (const replica of this.#replicas) this.#check(replica, Math.floor(Math.random() * this.#secrets.length));
    }, tickMs);
  }

  /** Stops sending and waits for every call in flight to be answered. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#drain();
  }

  /** When `key` was last admitted anywhere (the end of that Check); 0 if never. */
  lastAllowed(key: number): number {
    let last = 0;
    for (const check of this.checks) if (check.key === key && check.answer === "allowed") last = Math.max(last, check.endedAt);
    return last;
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  #check(replica: Replica, key: number): void {
    const startedAt = Date.now();
    const recorded = (answer: string) => {
      this.checks.push({ replica: replica.name, key, startedAt, endedAt: Date.now(), answer });
    };
    const call = replica.check(this.#secrets[key]!).then(recorded, (error: unknown) => recorded(`rpc:${Code[ConnectError.from(error).code]}`));
    this.#inFlight.add(call);
    void call.finally(() => this.#inFlight.delete(call));
  }
}
