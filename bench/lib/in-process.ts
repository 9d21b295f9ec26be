import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CheckRequestSchema, CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { systemClock } from "../../src/time/clock.js";
import { benchConfig, checkPath, seedPopulation } from "./check-harness.js";
import { benchSecret, HIT } from "./keys.js";
import { envoyCheckRequest } from "./requests.js";

/**
 * The Check path without a network, in a child process: CPU per Check of
 *  - the Connect route's work: fromBinary, CheckService.check, toBinary (what keygate did per call
 *    before the lean path, less Connect's own machinery);
 *  - the lean route's work: CheckRequestDecoder.decode, CheckService.checkFields (decision and encoding).
 * Usage recording and metrics are left out (no-ops): this is the Check path's own cost, the part
 * src/authz owns, and far steadier on a shared machine than anything over a socket.
 */

export interface InProcessResult {
  connectPathUs: number;
  leanPathUs: number;
}

// --quick (passed through as an argument) measures less.
const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 5;
const CALLS = quick ? 20_000 : 50_000;

async function measure(): Promise<InProcessResult> {
  const store = new MemoryStore();
  await store.init();
  const seed = "in-process";
  await seedPopulation(store, seed, 10);
  const { service, lean: leanPath } = checkPath(benchConfig({}), store, new LocalLimits({ clock: systemClock, loadMonthlyRequests: async () => 0 }));
  const bytes = Buffer.from(envoyCheckRequest(benchSecret(seed, HIT)));
  const connect = async () => toBinary(CheckResponseSchema, await service.check(fromBinary(CheckRequestSchema, bytes)));
  const lean = async () => {
    const answer = leanPath(bytes);
    return answer instanceof Promise ? await answer : answer;
  };
  const cpuPerCall = async (call: () => Promise<Uint8Array>): Promise<number> => {
    const before = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) await call();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / CALLS;
  };
  await connect();
  await lean();
  // Rounds alternate between the two; each keeps its best round, the least disturbed by
  // whatever else the machine runs.
  let connectPathUs = Infinity;
  let leanPathUs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    connectPathUs = Math.min(connectPathUs, await cpuPerCall(connect));
    leanPathUs = Math.min(leanPathUs, await cpuPerCall(lean));
  }
  return { connectPathUs, leanPathUs };
}

if (process.send !== undefined && process.argv[1] === new URL(import.meta.url).pathname) {
  measure().then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`in-process measurement failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
