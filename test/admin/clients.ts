import { create } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Authorization, CheckRequestSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import { findPlan } from "../../src/model/plans.js";
import { bootstrapOperator, type BootstrapResult } from "../../src/tenancy/bootstrap.js";
import { afterAll, beforeAll } from "vitest";
import type { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { bearer, startTestApp, type TestApp } from "../support/app.js";

/** A fresh store for a suite that runs on both stores, and how to drop it afterwards. */
export type StoreMaker = () => Promise<{ store: Store; cleanup(): Promise<void> }>;

/**
 * For the enclosing describe: one app on the store `makeStore` gives, on a manual clock, started
 * before its tests (handed to `started`) and stopped, with the store, after them.
 */
export function appOnStore(makeStore: StoreMaker, started: (t: TestApp, clock: ManualClock) => void | Promise<void>): void {
  let t: TestApp | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const made = await makeStore();
    cleanup = made.cleanup;
    const clock = new ManualClock(Date.now());
    t = await startTestApp({ store: made.store, clock, closeStore: false });
    await started(t, clock);
  });
  afterAll(async () => {
    await t?.close();
    await cleanup?.();
  });
}

/** Clients the users, operators and recoverable-keys suites need beside TestApp's KeyAdminService client. */

export function operatorClientFor(t: TestApp, secret: string): Client<typeof OperatorService> {
  return createClient(OperatorService, createConnectTransport({ baseUrl: t.app.url, httpVersion: "1.1", interceptors: [bearer(secret)] }));
}

/** A platform organization and its operator key, as `keygate bootstrap --operator` makes them. */
export function anOperator(t: TestApp): Promise<BootstrapResult> {
  return bootstrapOperator(
    { store: t.store, hasher: t.app.hasher, clock: t.clock, scopes: t.config.scopes },
    { organizationName: "platform operators", plan: findPlan(t.config.plans, "pro")!, ownerName: "operator", environment: "live" },
  );
}

/**
 * Check through the real server over gRPC, as Envoy calls it: the JSON `code` of the denial, or
 * "allowed". The route needs machines:read.
 */
export function checkerFor(t: TestApp): (secret: string) => Promise<string> {
  const authz = createClient(Authorization, createGrpcTransport({ baseUrl: t.app.url }));
  return async (secret) => {
    const path = "/machines/42";
    const response = await authz.check(
      create(CheckRequestSchema, {
        attributes: {
          source: { address: { address: { case: "socketAddress", value: { address: "10.1.2.3", portSpecifier: { case: "portValue", value: 5555 } } } } },
          request: { http: { method: "GET", path, host: "api.example.com", headers: { "x-api-key": secret, ":path": path } } },
          contextExtensions: { required_scopes: "machines:read" },
        },
      }),
    );
    if (response.status?.code === 0) return "allowed";
    const body = response.httpResponse.case === "deniedResponse" ? response.httpResponse.value.body : "{}";
    return (JSON.parse(body) as { error: { code: string } }).error.code;
  };
}
