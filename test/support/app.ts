import { Writable } from "node:stream";
import type { Tracer } from "@opentelemetry/api";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { startApp, type App } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import { createLogger } from "../../src/log/logger.js";
import { findPlan } from "../../src/model/plans.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { bootstrapOrganization, type BootstrapResult } from "../../src/tenancy/bootstrap.js";
import { ManualClock, type Clock } from "../../src/time/clock.js";

/**
 * A real keygate server on a free loopback port, with a bootstrapped organization, its admin
 * key, captured log lines, and Connect clients that authenticate with any secret.
 */
export interface TestApp {
  app: App;
  store: Store;
  config: Config;
  clock: Clock;
  /** Every log line written so far, as text (to search for secrets). */
  logs: string[];
  admin: BootstrapResult;
  /** A KeyAdminService client authenticated with the admin key. */
  client: Client<typeof KeyAdminService>;
  clientFor(secret: string, protocol?: "connect-json" | "connect-binary"): Client<typeof KeyAdminService>;
  /** Bootstraps another organization (for tenant isolation). */
  anotherOrganization(plan?: string): Promise<BootstrapResult>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  store?: Store;
  clock?: Clock;
  env?: Record<string, string>;
  plan?: string;
  /** Close the store with the app (default: only when the harness created it). */
  closeStore?: boolean;
  /** OpenTelemetry's tracer, as main hands it when tracing is configured; default none. */
  tracer?: Tracer;
}

export function bearer(secret: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${secret}`);
    return next(req);
  };
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    KEYGATE_DEMO_BOOTSTRAP: "false",
    KEYGATE_PEPPER: "test-pepper-0123456789abcdef-0123456789abcdef",
    ...options.env,
  });
  const logs: string[] = [];
  const logger = createLogger(
    config.logLevel,
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const store = options.store ?? new MemoryStore();
  const clock = options.clock ?? new ManualClock(Date.now());
  const app = await startApp({ config, store, logger, clock, ...(options.tracer && { tracer: options.tracer }) });
  const organizationFor = (name: string) => {
    const plan = findPlan(config.plans, name);
    if (!plan) throw new Error(`plan ${name} is not configured`);
    return bootstrapOrganization(
      { store, hasher: app.hasher, clock, scopes: config.scopes },
      { organizationName: "acme", plan, ownerName: "owner", environment: "live" },
    );
  };
  const admin = await organizationFor(options.plan ?? config.defaultPlan);
  const clientFor: TestApp["clientFor"] = (secret, protocol = "connect-json") =>
    createClient(
      KeyAdminService,
      createConnectTransport({
        baseUrl: app.url,
        httpVersion: "1.1",
        useBinaryFormat: protocol === "connect-binary",
        interceptors: [bearer(secret)],
      }),
    );
  return {
    app,
    store,
    config,
    clock,
    logs,
    admin,
    client: clientFor(admin.secret),
    clientFor,
    anotherOrganization: (plan = options.plan ?? config.defaultPlan) => organizationFor(plan),
    async close() {
      await app.close();
      if (options.closeStore ?? options.store === undefined) await store.close();
    },
  };
}
