import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { TestApp } from "../support/app.js";
import { checker } from "./check-client.js";
import type { ElectionFleet, KeyFixture, Tenant } from "./election-fleet.js";

/**
 * The traffic the reproduction ran, recorded answer by answer: Checks on both replicas
 * (open loop, as Envoy sends them: a slow answer does not slow the next request) over hot keys
 * (cached), cold keys (evicted from the replica's cache before each Check, so each one reads the
 * store) and the keys admin writes change; a probe of one sentinel key, the one revoked just
 * before the primary goes; an admin write through A every 200 ms, each on a key of its own
 * (alternately an update, which renames the key and moves it to another owner, and a revoke);
 * and each replica's /readyz every 100 ms. Times are wall-clock ms (Date.now()), comparable with
 * the replica set's own dates.
 */

export type ReplicaName = "A" | "B";

/**
 * Which keys a Check was about: `hot` ones stay cached on both replicas and never change; `cold`
 * ones are evicted from the replica's cache just before, so the Check reads the store; `target`
 * ones are changed by the admin writes (each change evicts them); the `sentinel` is revoked.
 */
export type KeyKind = "hot" | "cold" | "target" | "sentinel";

export interface CheckRecord {
  replica: ReplicaName;
  key: KeyFixture;
  kind: KeyKind;
  startedAt: number;
  endedAt: number;
  /** "allowed", a denial's code, or `rpc:<Code>` when the RPC itself failed. */
  answer: string;
}

export interface WriteRecord {
  op: "update" | "revoke";
  key: KeyFixture;
  /** What an update sets. */
  update?: { name: string; ownerUserId: string };
  startedAt: number;
  endedAt: number;
  /** "OK" or the Connect code's name. */
  code: string;
  /** The ErrorInfo reason of a failure, when it carries one. */
  reason?: string;
}

export interface ReadinessRecord {
  replica: ReplicaName;
  at: number;
  /** The HTTP status, or 0 when /readyz did not answer within 5 s. */
  status: number;
}

export interface LoadKeys {
  /** Whose keys the admin writes change, through A. */
  tenant: Tenant;
  hot: KeyFixture[];
  cold: KeyFixture[];
  /** Keys the admin writes use, one write each, in order. */
  targets: KeyFixture[];
  /** Probed on both replicas; the scenario revokes it through A just before the primary goes. */
  sentinel: KeyFixture;
}

/** Every 33 ms one Check on each replica: 60 Checks/s, plus the sentinel probes (30/s). */
const CHECK_TICK_MS = 33;
const SENTINEL_PROBE_MS: Record<ReplicaName, number> = { A: 100, B: 50 };
const WRITE_EVERY_MS = 200;
const READINESS_EVERY_MS = 100;
/**
 * A call that hangs is recorded as deadline_exceeded after this (a violation: neither a decision
 * nor `unavailable`), so the suite itself never hangs. Longer than any bound the suite checks.
 */
const CLIENT_TIMEOUT_MS = 30_000;
const CALL = { timeoutMs: CLIENT_TIMEOUT_MS };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** The code of a failed call as the suite counts it, and its ErrorInfo reason. */
function failureOf(error: unknown): { code: string; reason?: string } {
  const connectError = ConnectError.from(error);
  const reason = connectError.findDetails(ErrorInfoSchema)[0]?.reason;
  return { code: Code[connectError.code], ...(reason !== undefined && { reason }) };
}

export class ElectionLoad {
  readonly checks: CheckRecord[] = [];
  readonly writes: WriteRecord[] = [];
  readonly readiness: ReadinessRecord[] = [];
  readonly #keys: LoadKeys;
  readonly #replicas: Record<ReplicaName, { app: TestApp; check: ReturnType<typeof checker> }>;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #timers: NodeJS.Timeout[] = [];
  #running = false;
  #nextTarget = 0;
  /** Where each replica's captured log stood when the load began. */
  readonly #logsFrom: Record<ReplicaName, number> = { A: 0, B: 0 };

  constructor(fleet: ElectionFleet, keys: LoadKeys) {
    this.#keys = keys;
    const replica = (app: TestApp) => ({ app, check: checker(app.app.url, { timeoutMs: CLIENT_TIMEOUT_MS }) });
    this.#replicas = { A: replica(fleet.a), B: replica(fleet.b) };
  }

  start(): void {
    this.#running = true;
    for (const name of ["A", "B"] as const) this.#logsFrom[name] = this.#replicas[name].app.logs.length;
    this.#every(CHECK_TICK_MS, () => {
      for (const name of ["A", "B"] as const) this.#checkMixed(name);
    });
    for (const name of ["A", "B"] as const) {
      this.#every(SENTINEL_PROBE_MS[name], () => this.#check(name, this.#keys.sentinel, "sentinel"));
      this.#track(this.#probeReadiness(name));
    }
    this.#every(WRITE_EVERY_MS, () => this.#write());
  }

  /** Stops sending and waits for every call in flight to be answered. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Revokes `key` through A, as the admin writes do, and returns its record once answered. */
  async revoke(key: KeyFixture): Promise<WriteRecord> {
    const record = await this.#revoke(key);
    this.writes.push(record);
    return record;
  }

  /** The log lines each replica wrote since the load began. */
  logsOf(name: ReplicaName): string[] {
    return this.#replicas[name].app.logs.slice(this.#logsFrom[name]);
  }

  /** Whether an admin write started at or after `since` has been answered OK yet. */
  writeSucceededSince(since: number): boolean {
    return this.writes.some((write) => write.startedAt >= since && write.code === "OK");
  }

  #every(ms: number, tick: () => void): void {
    this.#timers.push(setInterval(tick, ms));
  }

  #track(work: Promise<unknown>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  /** 40% hot keys, 30% cold keys, 30% the keys written lately or about to be. */
  #checkMixed(name: ReplicaName): void {
    const roll = Math.random();
    if (roll < 0.4) this.#check(name, pick(this.#keys.hot), "hot");
    else if (roll < 0.7) this.#check(name, pick(this.#keys.cold), "cold");
    else this.#check(name, pick(this.#keys.targets.slice(0, this.#nextTarget + 10)), "target");
  }

  #check(name: ReplicaName, key: KeyFixture, kind: KeyKind): void {
    const replica = this.#replicas[name];
    if (kind === "cold") replica.app.app.keyCache.evict(key.hash);
    const startedAt = Date.now();
    const recorded = (answer: string) => this.checks.push({ replica: name, key, kind, startedAt, endedAt: Date.now(), answer });
    this.#track(replica.check(key.secret).then(recorded, (error: unknown) => recorded(`rpc:${failureOf(error).code}`)));
  }

  #write(): void {
    const n = this.#nextTarget++;
    const key = this.#keys.targets[n];
    if (key === undefined) return; // every target written: the scenario ran longer than planned
    const written = n % 2 === 0 ? this.#update(key) : this.#revoke(key);
    this.#track(written.then((record) => this.writes.push(record)));
  }

  /** Renames the key and moves it to the next owner (a user slot moves with it). */
  #update(key: KeyFixture): Promise<WriteRecord> {
    const owners = this.#keys.tenant.owners;
    const update = { name: `${key.name}-renamed`, ownerUserId: owners[(owners.indexOf(key.ownerUserId) + 1) % owners.length]! };
    return this.#admin("update", key, () => this.#keys.tenant.client.updateKey({ id: key.id, ...update }, CALL), update);
  }

  #revoke(key: KeyFixture): Promise<WriteRecord> {
    return this.#admin("revoke", key, () => this.#keys.tenant.client.revokeKey({ id: key.id }, CALL));
  }

  async #admin(op: WriteRecord["op"], key: KeyFixture, call: () => Promise<unknown>, update?: WriteRecord["update"]): Promise<WriteRecord> {
    const startedAt = Date.now();
    const base = { op, key, ...(update !== undefined && { update }), startedAt };
    try {
      await call();
      return { ...base, endedAt: Date.now(), code: "OK" };
    } catch (error) {
      return { ...base, endedAt: Date.now(), ...failureOf(error) };
    }
  }

  async #probeReadiness(name: ReplicaName): Promise<void> {
    const url = `${this.#replicas[name].app.app.url}/readyz`;
    while (this.#running) {
      const at = Date.now();
      const status = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
        async (response) => {
          await response.arrayBuffer(); // frees the connection for the next probe
          return response.status;
        },
        () => 0,
      );
      this.readiness.push({ replica: name, at, status });
      await sleep(READINESS_EVERY_MS);
    }
  }
}
