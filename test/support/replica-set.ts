import { once } from "node:events";
import { MongoClient } from "mongodb";
import type { MongoMemoryReplSet, MongoMemoryServer } from "mongodb-memory-server-core";
import { restartMongod, startReplicaSet } from "./mongod-launch.js";

/**
 * Three real mongod processes as one replica set, and what happens to replica sets in production:
 * a step-down (an upgrade, a planned failover), a SIGKILL of the primary (a crash, the OOM killer,
 * a lost node) and the member's return. Members are named by host (`127.0.0.1:port`), as the
 * replica set itself names them.
 */

/** A new primary in office: who, and when (wall-clock ms, comparable with Date.now()). */
export interface Election {
  host: string;
  /** When the new primary began its term (its replSetGetStatus `newTermStartDate`): "elected". */
  electedAt: number;
  /** When this harness first saw it answer `isWritablePrimary`. */
  observedAt: number;
}

/**
 * MongoDB's own default: a member calls an election after hearing nothing from the primary for
 * this long. mongodb-memory-server halves it to 5 s; the numbers this harness measures are meant
 * to be those of a real deployment, so it is put back.
 */
const ELECTION_TIMEOUT_MS = 10_000;
/** A member that was stepped down stays ineligible this long, so the election picks another one. */
const STEP_DOWN_SECONDS = 60;
const POLL_MS = 100;
/**
 * How long a stalled call is held. Long enough for what a scenario does before the member dies;
 * not so long that the set's shutdown at the end waits on held calls for minutes.
 */
const STALL_MS = 15_000;
/** The longest a change stream's getMore waits for changes before answering (the server's default). */
const AWAIT_DATA_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ThreeMemberReplicaSet {
  readonly #set: MongoMemoryReplSet;
  /** Each member's server, and a direct connection to ask it for its own view, by host. */
  readonly #members = new Map<string, { server: MongoMemoryServer; direct: MongoClient }>();

  private constructor(set: MongoMemoryReplSet) {
    this.#set = set;
    for (const server of set.servers) {
      const uri = server.getUri();
      this.#members.set(new URL(uri).host, { server, direct: new MongoClient(uri, { directConnection: true, serverSelectionTimeoutMS: 1_000 }) });
    }
  }

  static async start(): Promise<ThreeMemberReplicaSet> {
    const set = await startReplicaSet({
      members: 3,
      settings: { electionTimeoutMillis: ELECTION_TIMEOUT_MS },
      // For stall()'s fail point.
      args: ["--setParameter", "enableTestCommands=1"],
    });
    return new ThreeMemberReplicaSet(set);
  }

  /** The connection string naming all three members, as keygate's MONGODB_URI would. */
  get uri(): string {
    return this.#set.getUri();
  }

  get hosts(): string[] {
    return [...this.#members.keys()];
  }

  /** The member that answers as the writable primary now, or undefined during an election. */
  async primary(): Promise<string | undefined> {
    for (const host of this.hosts) {
      if ((await this.#hello(host))?.isWritablePrimary === true) return host;
    }
    return undefined;
  }

  /** The current primary; waits for one (after start, or after an election) up to `timeoutMs`. */
  async waitForPrimary(timeoutMs: number): Promise<string> {
    return (await this.waitForElection(undefined, timeoutMs)).host;
  }

  /**
   * Waits until a member other than `formerPrimary` is the writable primary (any member when it
   * is undefined) and says when its term began.
   */
  async waitForElection(formerPrimary: string | undefined, timeoutMs: number): Promise<Election> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const host of this.hosts) {
        if (host === formerPrimary) continue;
        if ((await this.#hello(host))?.isWritablePrimary !== true) continue;
        const observedAt = Date.now();
        const status = await this.#admin(host).command({ replSetGetStatus: 1 });
        const started = (status as { electionCandidateMetrics?: { newTermStartDate?: Date } }).electionCandidateMetrics?.newTermStartDate;
        return { host, electedAt: started?.getTime() ?? observedAt, observedAt };
      }
      await sleep(POLL_MS);
    }
    throw new Error(`no primary other than ${formerPrimary ?? "(none)"} within ${timeoutMs} ms`);
  }

  /** Asks the primary to step down (replSetStepDown) and not to stand again for a minute. */
  async stepDown(host: string): Promise<void> {
    await this.#admin(host).command({ replSetStepDown: STEP_DOWN_SECONDS, secondaryCatchUpPeriodSecs: 10 });
  }

  /**
   * From now on, until the member dies or the set stops, the member holds `commands` (e.g. find,
   * getMore) on `namespace` of clients named `appName` for STALL_MS before answering, as a
   * connection that went silent would; a SIGKILL of the member ends them with their connections.
   * There is no undoing it: turning the fail point off waits until no call is held in it. Call
   * settle() once the stalls are in place: a getMore already waiting for changes still answers.
   */
  async stall(host: string, stalled: { appName: string; namespace: string; commands: string[] }): Promise<void> {
    await this.#admin(host).command({
      configureFailPoint: "failCommand",
      mode: "alwaysOn",
      data: { failCommands: stalled.commands, appName: stalled.appName, namespace: stalled.namespace, blockConnection: true, blockTimeMS: STALL_MS },
    });
  }

  /** Lets the getMore calls that were waiting for changes when stall() was called return. */
  async settle(): Promise<void> {
    await sleep(AWAIT_DATA_MS + 500);
  }

  /**
   * SIGKILL of the member's mongod: no shutdown, no goodbye to clients, connections die with the
   * process. The harness's child is mongod itself (under Wine as well: the wine64 loader becomes
   * the mongod.exe process, same pid), so the signal reaches the server, not a wrapper.
   */
  async kill(host: string): Promise<void> {
    const server = this.#server(host);
    const child = server.instanceInfo?.instance.mongodProcess;
    if (child?.pid === undefined) throw new Error(`${host} has no running mongod`);
    // mongodb-memory-server treats the child's "close" (all its pipes closed) as an unexpected
    // exit of the instance, which, arriving while the same instance restarts, fails that restart.
    // Under Wine the pipes are also held by wineserver, so "close" comes at any later time: the
    // listener goes, and this end of the pipes is closed so it holds no test process open.
    child.removeAllListeners("close");
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
    for (const pipe of [child.stdin, child.stdout, child.stderr]) pipe?.destroy();
    // Lets the library forget the dead process (and end its watchdog) so that start() may run.
    await server.stop({ doCleanup: false, force: false });
  }

  /** Starts a killed member again on its port and data, and waits until it is a secondary again. */
  async restart(host: string, timeoutMs: number): Promise<void> {
    await restartMongod(this.#server(host));
    const deadline = Date.now() + timeoutMs;
    while ((await this.#hello(host))?.secondary !== true) {
      if (Date.now() > deadline) throw new Error(`${host} is not a secondary ${timeoutMs} ms after its restart`);
      await sleep(POLL_MS);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#members.values()].map(({ direct }) => direct.close()));
    await this.#set.stop();
  }

  async #hello(host: string): Promise<{ isWritablePrimary?: boolean; secondary?: boolean } | undefined> {
    try {
      return await this.#admin(host).command({ hello: 1 }, { timeoutMS: 1_000 });
    } catch {
      return undefined; // down, or not answering: not the primary
    }
  }

  #admin(host: string) {
    return this.#member(host).direct.db("admin");
  }

  #server(host: string): MongoMemoryServer {
    return this.#member(host).server;
  }

  #member(host: string) {
    const member = this.#members.get(host);
    if (member === undefined) throw new Error(`${host} is not a member`);
    return member;
  }
}
