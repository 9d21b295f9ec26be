import { readFileSync } from "node:fs";

/**
 * A V8 .cpuprofile (node --cpu-prof) reduced to where the time went: self time by function and
 * by area (keygate's own code, each package, Node's internals, GC, idle), largest first.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function area(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return url.replace(/^node:internal\/(?:[^/]+\/)?/, "node:").replace(/\/.*/, "");
  const own = /\/(src|gen|bench)\/(.*)$/.exec(url);
  return own ? `${own[1]}/${own[2]!.split("/")[0]}` : url;
}

export function summarizeProfile(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url === "" ? "" : ` ${url.replace(/^.*\/(node_modules|src|gen|bench)\//, "$1/")}:${lineNumber + 1}`;
    const name = `${functionName || "(anonymous)"}${where}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [`profile ${path}: ${(total / 1e6).toFixed(1)} s sampled`, "", "self time by area:"];
  for (const [name, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`  ${pct(us)}  ${name}`);
  lines.push("", "self time by function:");
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${name}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("profile-summary.js")) {
  for (const path of process.argv.slice(2)) process.stdout.write(`${summarizeProfile(path, 40)}\n\n`);
}
