import { execFileSync, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { summarizeLatencies, type LoadResult } from "./load-result.js";

/**
 * h2load (Debian's nghttp2-client) as the load generator: a C client in its own process, far
 * cheaper per request than any Node client, so on this small machine most CPU goes to the
 * server under test. It POSTs one pre-encoded gRPC frame per stream; it only sees HTTP status, so
 * the decisions are checked separately with a gRPC client (sample.ts). Latency percentiles come
 * from its per-request log.
 */

export function ensureH2load(): string {
  const found = ["/usr/bin/h2load", "/usr/local/bin/h2load"].find((path) => existsSync(path));
  if (found !== undefined) return found;
  process.stderr.write("h2load not found: installing Debian's nghttp2-client\n");
  const [command, ...prefix] = process.getuid?.() === 0 ? ["apt-get"] : ["sudo", "-n", "apt-get"];
  const apt = (args: string[]) => execFileSync(command!, [...prefix, ...args], { stdio: "inherit" });
  try {
    apt(["install", "-y", "nghttp2-client"]);
  } catch {
    apt(["update"]);
    apt(["install", "-y", "nghttp2-client"]);
  }
  if (!existsSync("/usr/bin/h2load")) throw new Error("nghttp2-client installed but /usr/bin/h2load is missing");
  return "/usr/bin/h2load";
}

export interface H2loadOptions {
  port: number;
  bodyFile: string;
  clients: number;
  streams: number;
  /** Timing-based run of this many seconds, or a fixed number of requests. */
  durationS?: number;
  requests?: number;
  /** Paces each client (h2load --rps); total rate = clients * this. */
  ratePerClient?: number;
  logDir: string;
}

function h2loadArgs(options: H2loadOptions, logFile: string): string[] {
  const args = [
    "-c", String(options.clients),
    "-m", String(options.streams),
    "-t", "1",
    "-d", options.bodyFile,
    "-H", "content-type: application/grpc",
    "-H", "te: trailers",
    `--log-file=${logFile}`,
  ];
  if (options.durationS !== undefined) args.push("-D", String(options.durationS));
  else args.push("-n", String(options.requests ?? 10_000));
  if (options.ratePerClient !== undefined) args.push(`--rps=${options.ratePerClient}`);
  args.push(`http://127.0.0.1:${options.port}/envoy.service.auth.v3.Authorization/Check`);
  return args;
}

function run(h2load: string, args: string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(h2load, args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`h2load exited with ${code}:\n${text}`))));
  });
}

interface Counts {
  done: number;
  failed: number;
  durationS: number;
}

function counts(output: string): Counts {
  const finished = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(output);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  if (!finished || !requests || !codes) throw new Error(`cannot read h2load's output:\n${output}`);
  const done = Number(requests[3]);
  return {
    done,
    failed: Number(requests[5]) + Number(requests[6]) + Number(requests[7]) + done - Number(codes[1]),
    durationS: Number(finished[1]) / (finished[2] === "ms" ? 1000 : 1),
  };
}

/** Latencies (µs) of the requests that got HTTP 200, from h2load's per-request log, which it removes. */
function loggedLatencies(logFile: string, into: number[]): void {
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    const columns = line.split("\t");
    if (columns.length === 3 && columns[1] === "200") into.push(Number(columns[2]));
  }
  rmSync(logFile, { force: true });
}

/** As many requests as the server answers, at fixed concurrency (clients x streams). */
export async function runH2load(h2load: string, options: H2loadOptions): Promise<LoadResult> {
  const logFile = join(options.logDir, `h2load-${process.pid}-${Date.now()}.tsv`);
  const { done, failed, durationS } = counts(await run(h2load, h2loadArgs(options, logFile)));
  const latenciesUs: number[] = [];
  loggedLatencies(logFile, latenciesUs);
  return { requests: done, failed, durationS, rps: done / durationS, ...summarizeLatencies(latenciesUs), outcomes: {} };
}

/**
 * A fixed rate, for latency below saturation (the p99 target is at half the maximum
 * throughput). One h2load paces its clients with a 10 ms timer, releasing each client's share of
 * ten milliseconds at once, so its latencies measure those bursts. Here `processes` h2loads of
 * one connection each, started a millisecond apart, share the rate: their ticks interleave, and
 * requests arrive in small groups about every millisecond, much as independent clients send them.
 */
export async function runH2loadPaced(
  h2load: string,
  options: Pick<H2loadOptions, "port" | "bodyFile" | "logDir"> & { ratePerSecond: number; durationS: number; processes: number },
): Promise<LoadResult> {
  const runs: Array<Promise<{ counts: Counts; logFile: string }>> = [];
  for (let i = 0; i < options.processes; i++) {
    const logFile = join(options.logDir, `h2load-paced-${process.pid}-${Date.now()}-${i}.tsv`);
    const ratePerClient = Math.max(1, Math.round(options.ratePerSecond / options.processes));
    const args = h2loadArgs({ ...options, clients: 1, streams: 64, ratePerClient }, logFile);
    runs.push(run(h2load, args).then((output) => ({ counts: counts(output), logFile })));
    await sleep(1);
  }
  const results = await Promise.all(runs);
  const latenciesUs: number[] = [];
  for (const { logFile } of results) loggedLatencies(logFile, latenciesUs);
  const done = results.reduce((sum, r) => sum + r.counts.done, 0);
  const durationS = Math.max(...results.map((r) => r.counts.durationS));
  return {
    requests: done,
    failed: results.reduce((sum, r) => sum + r.counts.failed, 0),
    durationS,
    rps: done / durationS,
    ...summarizeLatencies(latenciesUs),
    outcomes: {},
  };
}
