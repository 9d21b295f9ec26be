import { fromBinary, toBinary } from "@bufbuild/protobuf";
import pino from "pino";
import { CheckRequestSchema, CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { CheckRequestDecoder } from "../../src/authz/check-request-decoder.js";
import { CheckService } from "../../src/authz/check-service.js";
import { KeyCache } from "../../src/cache/key-cache.js";
import { loadConfig } from "../../src/config/config.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { SecretHasher } from "../../src/model/secret.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { systemClock } from "../../src/time/clock.js";
import { BENCH_PEPPER, benchSecret, HIT, population } from "./keys.js";
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
  const plan = {
    name: "bench",
    maxKeysPerOrganization: 1e7,
    maxKeysPerUser: 1e7,
    maxRateLimitPerMinute: 1e9,
    monthlyQuota: 1e15,
    requestsPerMinute: 1e12,
    canCreateAdminKeys: true,
    currency: "USD",
    pricePerThousandRequests: 0,
    pricePerMegabyte: 0,
  };
  const config = { ...loadConfig({ KEYGATE_PEPPER: BENCH_PEPPER }), plans: [plan], defaultPlan: plan.name };
  const store = new MemoryStore();
  await store.init();
  const seed = "in-process";
  const { organizations, keys } = population(seed, 10, plan.name);
  for (const organization of organizations) await store.organizations.create(organization);
  for (const key of keys()) await store.keys.create(key, { organizationMax: 1e9, userMax: 1e9 });
  const service = new CheckService({
    config,
    hasher: new SecretHasher(BENCH_PEPPER),
    keyCache: new KeyCache({ store, keyEvents: new KeyEvents(), clock: systemClock, config }),
    limits: new LocalLimits({ clock: systemClock, loadMonthlyRequests: async () => 0 }),
    clock: systemClock,
    usage: { record() {} },
    logger: pino({ level: "silent" }),
  });
  const bytes = Buffer.from(envoyCheckRequest(benchSecret(seed, HIT)));
  // Envoy as deployed: a caller that passed the data plane's boundary.
  const ENVOY = { passedBoundary: true, peer: "127.0.0.1" };
  const connect = async () => toBinary(CheckResponseSchema, await service.check(fromBinary(CheckRequestSchema, bytes)));
  const decoder = new CheckRequestDecoder();
  const lean = async () => {
    const answer = service.checkFields(decoder.decode(bytes), ENVOY);
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
