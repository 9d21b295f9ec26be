import { Writable } from "node:stream";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient, createRouterTransport, type Client, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll } from "vitest";
import { KeyAdminService, UserRole, type UserLimitsSchema } from "../../gen/keygate/v1/key_admin_pb.js";
import { callerAuthenticator } from "../../src/admin/authenticate-caller.js";
import { callerAuthentication } from "../../src/admin/caller-interceptor.js";
import { IdempotentChanges } from "../../src/admin/idempotent-changes.js";
import { keyAdministration } from "../../src/admin/key-admin-service.js";
import { PageTokens } from "../../src/admin/page-token.js";
import { rpcLogging } from "../../src/admin/rpc-logging.js";
import { UsageWatchers } from "../../src/admin/usage/usage-watchers.js";
import { AuditTrail } from "../../src/audit/audit-trail.js";
import { loadConfig } from "../../src/config/config.js";
import { ReceiptSealing } from "../../src/crypto/receipt-sealing.js";
import { SigningSecretSealing } from "../../src/crypto/signing-secret-sealing.js";
import { KeyEvents } from "../../src/keys/key-events.js";
import { LocalLimits } from "../../src/limits/local-limits.js";
import { createLogger } from "../../src/log/logger.js";
import { findPlan } from "../../src/model/plans.js";
import { SecretHasher } from "../../src/model/secret.js";
import type { Store } from "../../src/store/store.js";
import { bootstrapOrganization, type BootstrapResult } from "../../src/tenancy/bootstrap.js";
import { ManualClock } from "../../src/time/clock.js";
import { createUsage } from "../../src/usage/usage-module.js";
import type { StoreMaker } from "./clients.js";

/**
 * The whole KeyAdminService in process, as app.ts serves it (the same handlers, the caller's
 * authentication and the policy's RPC scopes, the RPC log line, idempotency keys), over an
 * in-memory transport, for the webhook and settings suites. Every log line is kept, to search
 * for secrets.
 */

export type AdminClient = Client<typeof KeyAdminService>;

const PEPPER = "test-pepper-0123456789abcdef-0123456789abcdef";
export const ADMIN_SCOPES = ["admin:read", "admin:write", "machines:read"];

export interface WebhookService {
  store: Store;
  clock: ManualClock;
  /** Opens the secrets the store keeps sealed, to prove which secret is stored. */
  sealing: SigningSecretSealing;
  logs: string[];
  clientFor(secret: string): AdminClient;
  /** A fresh organization (so counts and audit logs are the test's own) and its owner's client. */
  organization(plan?: string): Promise<{ org: BootstrapResult; owner: AdminClient }>;
  /** A user of the role in the owner's organization, acting through a key of its own with `scopes`. */
  actingAs(owner: AdminClient, role: UserRole, scopes?: string[], limits?: MessageInitShape<typeof UserLimitsSchema>): Promise<{ userId: string; keyId: string; secret: string; client: AdminClient }>;
}

/** For the enclosing describe: the service on the store `makeStore` gives, started before its tests and dropped after them. */
export function webhookServiceOn(makeStore: StoreMaker, options: { allowInsecureTargets: boolean }, started: (service: WebhookService) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const made = await makeStore();
    cleanup = made.cleanup;
    started(webhookService(made.store, options));
  });
  afterAll(async () => {
    await cleanup?.();
  });
}

function webhookService(store: Store, options: { allowInsecureTargets: boolean }): WebhookService {
  const config = loadConfig({ KEYGATE_PEPPER: PEPPER, KEYGATE_DEMO_BOOTSTRAP: "false" });
  const logs: string[] = [];
  const logger = createLogger(
    "info",
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const clock = new ManualClock(Date.now());
  const hasher = new SecretHasher(PEPPER);
  const audit = new AuditTrail(store, clock);
  const sealing = new SigningSecretSealing(PEPPER);
  const usage = createUsage({ config, store, clock, logger });
  const limits = new LocalLimits({ clock, loadMonthlyRequests: usage.loadMonthlyRequests });
  const service = keyAdministration(
    {
      store,
      hasher,
      clock,
      scopes: config.scopes,
      audit,
      keyEvents: new KeyEvents(),
      pageTokens: new PageTokens(PEPPER),
      logger,
      peekLimits: () => [],
      creditsLeft: async (line) => line.limit,
      usage: {
        recorder: usage.recorder,
        limits,
        alertThresholds: config.usageAlertThresholds,
        watchHeartbeatMs: 0,
        stopping: new AbortController().signal,
        watchers: new UsageWatchers({ usage: store.usage, clock, maxStreamsPerKey: 1, maxStreamsPerOrganization: 1, maxAgeMs: 0 }),
      },
    },
    { sealing, allowInsecureTargets: options.allowInsecureTargets },
  );
  const authenticate = callerAuthenticator({ store, hasher, clock, plans: config.plans, scopes: config.scopes, audit, logger });
  const idempotentChanges = new IdempotentChanges({ store, sealing: new ReceiptSealing(PEPPER), clock });
  const routes = (router: ConnectRouter) =>
    router.service(KeyAdminService, idempotentChanges.of(KeyAdminService, service), {
      interceptors: [rpcLogging(logger), callerAuthentication({ authenticate, audit })],
    });
  const bearer =
    (secret: string): Interceptor =>
    (next) =>
    (req) => {
      req.header.set("authorization", `Bearer ${secret}`);
      return next(req);
    };
  const clientFor = (secret: string): AdminClient => createClient(KeyAdminService, createRouterTransport(routes, { transport: { interceptors: [bearer(secret)] } }));

  return {
    store,
    clock,
    sealing,
    logs,
    clientFor,
    async organization(plan = "pro") {
      const org = await bootstrapOrganization(
        { store, hasher, clock, scopes: config.scopes },
        { organizationName: "acme", plan: findPlan(config.plans, plan)!, ownerName: "owner", environment: "live" },
      );
      return { org, owner: clientFor(org.secret) };
    },
    async actingAs(owner, role, scopes = ADMIN_SCOPES, limits) {
      const { user } = await owner.addUser({ name: `a ${UserRole[role].toLowerCase()}`, role, limits });
      const { secret, key } = await owner.createKey({ name: "their key", scopes, ownerUserId: user!.id });
      return { userId: user!.id, keyId: key!.id, secret, client: clientFor(secret) };
    },
  };
}
