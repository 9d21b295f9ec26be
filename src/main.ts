import cluster from "node:cluster";
import { fileURLToPath } from "node:url";
import { startApp } from "./app.js";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { unknownVariables } from "./config/known-variables.js";
import { CONSOLE_PATH } from "./console/console-handler.js";
import { defaultPlanOf } from "./model/plans.js";
import { SecretHasher } from "./model/secret.js";
import { createLogger, type Logger } from "./log/logger.js";
import { repairCountersAtStart } from "./keys/repair-counters-at-start.js";
import { joinCluster, runClusterPrimary } from "./server/cluster.js";
import { openStore } from "./store/open-store.js";
import type { Store } from "./store/store.js";
import { bootstrapOrganization } from "./tenancy/bootstrap.js";
import { systemClock } from "./time/clock.js";
import { packageVersion } from "./config/package-root.js";
import { startTracing } from "./trace/tracing-sdk.js";

/**
 * The composition root: config → store (indexes awaited, counters repaired) → server → demo
 * bootstrap → signals.
 * Listens only when run directly, so tests import `startApp` instead.
 */

/**
 * On an empty store that keeps nothing past this process (the embedded one), a demo organization
 * lets a newcomer call the API at once; in a persistent store its printed admin key would live on.
 */
async function bootstrapDemo(config: Config, store: Store, url: string): Promise<void> {
  if (store.persistent || !config.demoBootstrap || (await store.organizations.count()) > 0) return;
  const { organization, key, secret } = await bootstrapOrganization(
    { store, hasher: new SecretHasher(config.pepper), clock: systemClock, scopes: config.scopes },
    { organizationName: "demo", plan: defaultPlanOf(config), ownerName: "demo owner", environment: "test" },
  );
  process.stdout.write(
    [
      "",
      `keygate demo organization ${organization.id} (plan ${organization.plan}); its admin key ${key.id} is shown once:`,
      "",
      `  export KEYGATE_ADMIN_KEY=${secret}`,
      "",
      "Try it:",
      `  curl -s -H "Authorization: Bearer $KEYGATE_ADMIN_KEY" -H 'Content-Type: application/json' \\`,
      `    ${url}/keygate.v1.KeyAdminService/ListKeys -d '{}'`,
      "",
      `The console: ${url}${CONSOLE_PATH}/ (sign in with that key)`,
      "",
      "The embedded store keeps everything in memory: it is gone when keygate stops.",
      "",
    ].join("\n"),
  );
}

/** The address to print for people: a wildcard listen address is reachable as localhost. */
function localUrl(host: string, port: number): string {
  const name = host === "0.0.0.0" || host === "::" || host === "" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`keygate: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger: Logger = createLogger(config.logLevel);
  // Once per start: in cluster mode the primary speaks for its workers, which share its environment.
  if (!cluster.isWorker) {
    for (const { name, nearest } of unknownVariables(process.env)) {
      logger.warn({ variable: name, nearest }, `${name} is not a keygate setting and is ignored; did you mean ${nearest}?`);
    }
  }
  if (config.workers > 1 && cluster.isPrimary) {
    // Cluster mode: this process only forks, restarts and stops the workers that serve the port.
    runClusterPrimary({ workers: config.workers, shutdownTimeoutMs: config.shutdownTimeoutMs, logger });
    return;
  }
  // Off unless OTEL_* variables ask for traces (src/trace/tracing-sdk.ts); each worker traces its own calls.
  const tracing = startTracing(packageVersion());
  if (tracing) logger.info("OpenTelemetry tracing on (OTEL_* variables)");
  const store = await openStore(config);
  if (!store.persistent) logger.warn("embedded in-memory store: data is not persisted (set MONGODB_URI for MongoDB)");
  else logger.info({ db: config.mongodbDb }, "MongoDB store ready");
  // Once per start of the process or, in cluster mode, by its first worker for all of them.
  if (!cluster.isWorker || cluster.worker?.id === 1) await repairCountersAtStart(store, logger);

  const app = await startApp({ config, store, logger, ...(tracing && { tracer: tracing.tracer }) });
  const url = localUrl(config.host, app.port);
  logger.info({ port: app.port, store: store.kind, console: `${url}${CONSOLE_PATH}/` }, "keygate listening");
  await bootstrapDemo(config, store, url);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown deadline passed, exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 2_000);
    deadline.unref();
    try {
      await app.close();
      await store.close();
      // The last spans, those of the calls the close let finish, are exported before the exit.
      await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, "trace export at shutdown failed"));
      logger.info("stopped");
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  joinCluster(app, () => void stop("cluster primary gone"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`keygate: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
