import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Case } from "./cases.js";
import { runGrpcLoad } from "./grpc-load.js";
import { runH2load, runH2loadPaced } from "./h2load.js";
import type { LoadResult } from "./load-result.js";
import { envoyCheckRequest, grpcFrame } from "./requests.js";
import { sampleOutcomes } from "./sample.js";
import { addCounts } from "./server-stats.js";
import { startServer } from "./server-process.js";

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
}

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
}

function judge(expect: string, outcomes: Record<string, number>): string | null {
  const wrong = Object.entries(outcomes).filter(([outcome]) => outcome !== expect);
  return wrong.length === 0 ? null : `expected only ${expect}, got ${JSON.stringify(outcomes)}`;
}

/** Measures cases under `settings`, writing each request body once. */
export function measurer(settings: LoadSettings): (testCase: Case, round: number, mongoUri: string | undefined, profileDir: string | undefined) => Promise<Row> {
  const { seed, clients, streams, durationS, workDir, h2load } = settings;
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

  return async function measure(testCase: Case, round: number, mongoUri: string | undefined, profileDir: string | undefined): Promise<Row> {
    const server = await startServer(testCase, seed, mongoUri, profileDir);
    try {
      const message = envoyCheckRequest(testCase.secret());
      const body = bodyFile(testCase.secret());
      // The first call loads the key into the cache (and, for the limited key, spends its one request).
      await sampleOutcomes(server.port, message, 1);
      const before = await sampleOutcomes(server.port, message, 20);
      const problem = judge(testCase.expect, before);
      if (problem) throw new Error(`${testCase.title}: before the load, ${problem}`);

      const h2 = { port: server.port, bodyFile: body, clients, streams, logDir: workDir };
      const grpcLoad = { port: server.port, seed, keys: testCase.keys ?? 1, threads: 1, connections: clients, streams, durationS };
      if (testCase.generator === "h2load") await runH2load(h2load, { ...h2, durationS: 1 });
      else {
        await runGrpcLoad({ ...grpcLoad, warm: true, durationS: 0 });
        await runGrpcLoad({ ...grpcLoad, warm: false, durationS: 1 });
      }
      const s0 = await server.stats();
      const load = testCase.generator === "h2load" ? await runH2load(h2load, { ...h2, durationS }) : await runGrpcLoad({ ...grpcLoad, warm: false });
      const s1 = await server.stats();
      let half: LoadResult | undefined;
      if (testCase.halfRate) {
        half = await runH2loadPaced(h2load, { port: server.port, bodyFile: body, logDir: workDir, ratePerSecond: Math.max(10, Math.floor(load.rps / 2)), durationS, processes: 10 });
      }

      const after = await sampleOutcomes(server.port, message, 20);
      const settled = await server.stats(true);
      const problemAfter = judge(testCase.expect, after) ?? (load.failed > 0 ? `${load.failed} failed requests` : null);
      const loadProblem = testCase.generator === "grpc-js" ? judge(testCase.expect, load.outcomes) : null;
      const ops = addCounts(s1.storeOps, s0.storeOps, -1);
      const cpuUs = s1.cpuUserUs + s1.cpuSystemUs - (s0.cpuUserUs + s0.cpuSystemUs);
      const checked = Object.values(before).reduce((a, b) => a + b, 0) + Object.values(after).reduce((a, b) => a + b, 0);
      const sampledInLoad = Object.values(load.outcomes).reduce((a, b) => a + b, 0);
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
      };
    } finally {
      await server.stop();
    }
  };
}
