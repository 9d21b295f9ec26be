import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { Case } from "./cases.js";
import { startFrameLoad } from "./frame-load.js";
import { runH2load, runH2loadPaced } from "./h2load.js";
import type { LoadResult } from "./load-result.js";
import { envoyCheckRequest, grpcFrame } from "./requests.js";
import { sampleOutcomes } from "./sample.js";
import { keysInUse, secretTable } from "./secret-table.js";
import { addCounts, type ServerStats } from "./server-stats.js";
import { startServer, type Running } from "./server-process.js";

/**
 * One measurement of one case: a fresh server, its decisions sampled before and after, a warm-up,
 * the timed load (and the half-rate load where the case asks for it), and what the server spent.
 */

export interface Row {
  id: string;
  title: string;
  round: number;
  load: LoadResult;
  cpuSecondsPer10k: number;
  peakRssMb: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  /** RSS after a full collection at the end: what the process really holds. */
  settledRssMb: number;
  /** Key and organization reads per Check in the window (null: not counted); other store calls. */
  storeOpsPerCheck: number | null;
  otherStoreOps: Record<string, number>;
  verified: string;
  half?: LoadResult;
  info: Record<string, unknown>;
  /** Frame generator cases: the generator's own CPU per Check, and the memory figures of scale.ts. */
  generatorCpuUsPerCheck?: number;
  scale?: ScaleMemory;
}

/** Memory after a full collection, in the same server process: keys stored, one in use; then all in use. */
export interface ScaleMemory {
  keysStored: number;
  keysInUse: number;
  stored: MemoryFigures;
  /** After the warm pass (spread cases only), and how long that pass took. */
  inUse?: MemoryFigures;
  warmS?: number;
  /** Measured on the server this case took over, warmed for it (Case.keepsServerFor). */
  sharedWith?: string;
}

/** V8's heap in use, typed arrays and buffers outside it, and the whole process. */
export interface MemoryFigures {
  heapBytes: number;
  /** V8's heap as reserved (in use, free and fragmented): with array buffers, most of RSS. */
  heapTotalBytes: number;
  arrayBuffersBytes: number;
  rssBytes: number;
}

const memoryOf = (stats: ServerStats): MemoryFigures => ({ heapBytes: stats.heapUsedBytes, heapTotalBytes: stats.heapTotalBytes, arrayBuffersBytes: stats.arrayBuffersBytes, rssBytes: stats.rssBytes });

/** How every case is loaded: the same keys, generator settings and window for all of them. */
export interface LoadSettings {
  seed: string;
  clients: number;
  streams: number;
  durationS: number;
  /** Where request bodies and h2load's logs go. */
  workDir: string;
  /** The h2load binary. */
  h2load: string;
  /** Where a long step (seeding and warming a million keys) says it has begun. */
  progress(line: string): void;
}

function judge(expect: string, outcomes: Record<string, number>): string | null {
  const wrong = Object.entries(outcomes).filter(([outcome]) => outcome !== expect);
  return wrong.length === 0 ? null : `expected only ${expect}, got ${JSON.stringify(outcomes)}`;
}

export interface Measure {
  (testCase: Case, round: number, mongoUri: string | undefined, profileDir: string | undefined): Promise<Row>;
  /** Stops a server kept for a case that did not run next. */
  close(): Promise<void>;
}

/** What a load window gives a row: the load, the server's stats around it, and the frame generator's extras. */
interface Window {
  load: LoadResult;
  s0: ServerStats;
  s1: ServerStats;
  generatorCpuUs?: number;
  scale?: ScaleMemory;
}

/** A spread case's warmed server, kept for the case that measures it again (Case.keepsServerFor). */
interface Kept {
  forCase: string;
  server: Running;
  scale: ScaleMemory;
  warmedBy: string;
}

/** Measures cases under `settings`, writing each request body once. */
export function measurer(settings: LoadSettings): Measure {
  const { seed, clients, streams, durationS, workDir, h2load } = settings;
  // The frame generator's secrets, built once per number of keys in use (a million take seconds).
  const secretTables = new Map<number, SharedArrayBuffer>();
  function secrets(count: number): SharedArrayBuffer {
    let table = secretTables.get(count);
    if (table === undefined) secretTables.set(count, (table = secretTable(seed, count)));
    return table;
  }
  let kept: Kept | undefined;
  async function release(): Promise<void> {
    const server = kept?.server;
    kept = undefined;
    await server?.stop();
  }
  const bodyFiles = new Map<string, string>();
  function bodyFile(secret: string): string {
    let file = bodyFiles.get(secret);
    if (file === undefined) {
      file = join(workDir, `request-${bodyFiles.size}.bin`);
      writeFileSync(file, grpcFrame(envoyCheckRequest(secret)));
      bodyFiles.set(secret, file);
    }
    return file;
  }

  /** h2load: a second's warm-up, then the window. */
  async function h2loadWindow(server: Running, bodyFile: string): Promise<Window> {
    const h2 = { port: server.port, bodyFile, clients, streams, logDir: workDir };
    await runH2load(h2load, { ...h2, durationS: 1 });
    const s0 = await server.stats();
    const load = await runH2load(h2load, { ...h2, durationS });
    return { load, s0, s1: await server.stats() };
  }

  /**
   * The frame generator: memory after a full collection with the keys stored and one in use; for a
   * spread case, one request per key in use and the memory again; a second's warm-up; the window. A
   * server taken over from the case before (`reused`) is already warm and its memory known.
   */
  async function framesWindow(testCase: Case, round: number, server: Running, reused: Kept | undefined): Promise<Window> {
    const inUse = testCase.spread ? keysInUse(testCase.keys ?? 1) : 1;
    let scale: ScaleMemory = reused
      ? { ...reused.scale, sharedWith: reused.warmedBy }
      : { keysStored: testCase.keys ?? 0, keysInUse: inUse, stored: memoryOf(await server.stats(true)) };
    // 2 threads of clients/2 connections each: the same connections and streams as h2load's.
    const threads = Math.min(2, clients);
    const frames = await startFrameLoad({
      port: server.port,
      secrets: secrets(inUse),
      shape: testCase.spread ?? "uniform",
      seed: crc32(seed),
      threads,
      sessions: Math.max(1, Math.round(clients / threads)),
      streams,
    });
    try {
      if (testCase.spread && !reused) {
        const seeded = typeof server.info["seedMs"] === "number" ? ` seeded in ${(server.info["seedMs"] / 1000).toFixed(1)} s;` : "";
        settings.progress(`  round ${round} ${testCase.title}:${seeded} warming the cache over ${inUse.toLocaleString("en-US")} keys\n`);
        const warmed = await frames.warm();
        const problem = warmed.failed > 0 ? `${warmed.failed} failed requests` : judge(testCase.expect, warmed.outcomes);
        if (problem) throw new Error(`${testCase.title}: in the warm pass, ${problem}`);
        scale = { ...scale, inUse: memoryOf(await server.stats(true)), warmS: warmed.durationS };
      }
      await frames.run(1);
      const s0 = await server.stats();
      const load = await frames.run(durationS);
      return { load, s0, s1: await server.stats(), generatorCpuUs: load.generatorCpuUs, scale };
    } finally {
      frames.close();
    }
  }

  async function measure(testCase: Case, round: number, mongoUri: string | undefined, profileDir: string | undefined): Promise<Row> {
    const reused = kept?.forCase === testCase.id ? kept : undefined;
    if (reused) kept = undefined;
    else await release();
    const server = reused?.server ?? (await startServer(testCase, seed, mongoUri, profileDir));
    let scale: ScaleMemory | undefined;
    let keep = false;
    try {
      const message = envoyCheckRequest(testCase.secret());
      const body = bodyFile(testCase.secret());
      // The first call loads the key into the cache (and, for the limited key, spends its one request).
      await sampleOutcomes(server.port, message, 1);
      const before = await sampleOutcomes(server.port, message, 20);
      const problem = judge(testCase.expect, before);
      if (problem) throw new Error(`${testCase.title}: before the load, ${problem}`);

      const window = testCase.generator === "frames" ? await framesWindow(testCase, round, server, reused) : await h2loadWindow(server, body);
      const { load, s0, s1, generatorCpuUs } = window;
      scale = window.scale;
      let half: LoadResult | undefined;
      if (testCase.halfRate) {
        half = await runH2loadPaced(h2load, { port: server.port, bodyFile: body, logDir: workDir, ratePerSecond: Math.max(10, Math.floor(load.rps / 2)), durationS, processes: 10 });
      }

      const after = await sampleOutcomes(server.port, message, 20);
      const settled = await server.stats(true);
      const problemAfter = judge(testCase.expect, after) ?? (load.failed > 0 ? `${load.failed} failed requests` : null);
      const loadProblem = testCase.generator === "frames" ? judge(testCase.expect, load.outcomes) : null;
      const ops = addCounts(s1.storeOps, s0.storeOps, -1);
      const cpuUs = s1.cpuUserUs + s1.cpuSystemUs - (s0.cpuUserUs + s0.cpuSystemUs);
      const checked = Object.values(before).reduce((a, b) => a + b, 0) + Object.values(after).reduce((a, b) => a + b, 0);
      const sampledInLoad = Object.values(load.outcomes).reduce((a, b) => a + b, 0);
      keep = testCase.keepsServerFor !== undefined && scale?.inUse !== undefined;
      return {
        id: testCase.id,
        title: testCase.title,
        round,
        load,
        cpuSecondsPer10k: cpuUs / 1e6 / (load.requests / 10_000),
        peakRssMb: s1.maxRssBytes / 2 ** 20,
        rssMb: s1.rssBytes / 2 ** 20,
        heapMb: settled.heapUsedBytes / 2 ** 20,
        externalMb: settled.externalBytes / 2 ** 20,
        settledRssMb: settled.rssBytes / 2 ** 20,
        storeOpsPerCheck: testCase.server !== "keygate" ? null : ((ops.keys ?? 0) + (ops.organizations ?? 0)) / load.requests,
        otherStoreOps: Object.fromEntries(Object.entries(ops).filter(([name, n]) => name !== "keys" && name !== "organizations" && n !== 0)),
        verified:
          problemAfter ?? loadProblem ?? `${checked}${sampledInLoad ? ` + ${sampledInLoad} in load` : ""} sampled ${testCase.expect}`,
        ...(half && { half }),
        info: server.info,
        ...(generatorCpuUs !== undefined && { generatorCpuUsPerCheck: generatorCpuUs / load.requests }),
        ...(scale && { scale }),
      };
    } finally {
      if (keep) kept = { forCase: testCase.keepsServerFor!, server, scale: scale!, warmedBy: testCase.id };
      else await server.stop();
    }
  }
  return Object.assign(measure, { close: release });
}
