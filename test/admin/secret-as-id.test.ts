import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { UsagePeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { newId } from "../../src/model/ids.js";
import type { BootstrapResult } from "../../src/tenancy/bootstrap.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { anOperator, operatorClientFor } from "./clients.js";

/**
 * A secret pasted where an id belongs (`keygate keys get sk_live_…`, a script mixing up two
 * variables) must not come back in the error, nor go to the RPC log line or the audit log: an
 * error quotes a value only when it is a well-formed id of the kind expected, and says when a
 * value looks like a secret.
 */

let t: TestApp;
let operator: BootstrapResult;
let secret: string;
beforeAll(async () => {
  t = await startTestApp();
  operator = await anOperator(t);
  secret = (await t.client.createKey({ name: "pasted", scopes: ["machines:read"] })).secret;
});
afterAll(async () => {
  await t.close();
});

/** Everything a failed call carried to the client: code, message, ErrorInfo and every detail. */
async function refusal(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    const info = e.findDetails(ErrorInfoSchema)[0];
    return {
      code: e.code,
      reason: info?.reason ?? "",
      message: e.rawMessage,
      everything: JSON.stringify([e.rawMessage, info?.metadata, e.details, [...e.metadata]]),
    };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Neither the secret's random part nor any long piece of it (its first 12 characters are its public prefix). */
function expectNoSecretIn(text: string, value: string): void {
  expect(text).not.toContain(value.slice(12, 30));
  expect(text).not.toContain(value.slice(30));
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) return;
}

describe("a secret sent as an id", () => {
  const pasted = () => [secret, `Bearer ${secret}`, secret.slice(0, -1), ` ${secret}\n`];

  const keyCalls: [string, (id: string) => Promise<unknown>][] = [
    ["GetKey", (id) => t.client.getKey({ id })],
    ["UpdateKey", (id) => t.client.updateKey({ id, name: "renamed" })],
    ["RevokeKey", (id) => t.client.revokeKey({ id })],
    ["RegenerateKey", (id) => t.client.regenerateKey({ id })],
    ["DeleteKey", (id) => t.client.deleteKey({ id })],
    ["GetKeyUsage", (id) => t.client.getKeyUsage({ id, period: UsagePeriod.DAY })],
    ["WatchUsage", (keyId) => drain(t.client.watchUsage({ keyId }))],
    ["RegenerateOperatorKey", (id) => operatorClientFor(t, operator.secret).regenerateOperatorKey({ id })],
    ["RevokeOperatorKey", (id) => operatorClientFor(t, operator.secret).revokeOperatorKey({ id })],
  ];

  it.each(keyCalls)("%s: not found, 'not a key id', and says it looks like a secret, without echoing it", async (_rpc, call) => {
    for (const value of pasted()) {
      const failed = await refusal(call(value));
      expect(failed).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
      expect(failed.message).toContain("not a key id");
      expect(failed.message).toContain("looks like an API key secret");
      expectNoSecretIn(failed.everything, secret);
    }
  });

  const otherCalls: [string, (value: string) => Promise<unknown>][] = [
    ["UpdateUser id", (id) => t.client.updateUser({ id, name: "x" })],
    ["RemoveUser id", (id) => t.client.removeUser({ id })],
    ["CreateKey owner_user_id", (ownerUserId) => t.client.createKey({ name: "x", ownerUserId })],
    ["UpdateKey owner_user_id", (ownerUserId) => t.client.updateKey({ id: t.admin.key.id, ownerUserId })],
    ["CreateKey scopes", (scope) => t.client.createKey({ name: "x", scopes: [scope] })],
    ["CreateKey allow_ips", (ip) => t.client.createKey({ name: "x", allowIps: [ip] })],
    ["ListKeys organization_id (operator)", (organizationId) => t.clientFor(operator.secret).listKeys({ organizationId })],
    ["GetKey id in another organization (operator)", (id) => t.clientFor(operator.secret).getKey({ id, organizationId: t.admin.organization.id })],
    ["GetOrganization id", (id) => operatorClientFor(t, operator.secret).getOrganization({ id })],
    ["SetOrganizationPlan id", (id) => operatorClientFor(t, operator.secret).setOrganizationPlan({ id, plan: "free" })],
  ];

  it.each(otherCalls)("%s: refused without echoing it", async (_field, call) => {
    for (const value of pasted()) expectNoSecretIn((await refusal(call(value))).everything, secret);
  });

  it("reaches neither the RPC log lines nor the audit log", async () => {
    for (const [, call] of [...keyCalls, ...otherCalls]) for (const value of pasted()) await refusal(call(value));
    expect(t.logs.join("")).toContain('"method":"keygate.v1.KeyAdminService/GetKey","code":"NotFound"');
    expectNoSecretIn(t.logs.join(""), secret);
    for (const organizationId of [t.admin.organization.id, operator.organization.id]) {
      expectNoSecretIn(JSON.stringify(await t.store.audit.list(organizationId, { limit: 1000 })), secret);
    }
  });
});

describe("ids in errors", () => {
  it("quotes a well-formed id of the kind expected, so the caller sees which one was not found", async () => {
    const id = newId("key", t.clock.now());
    const failed = await refusal(t.client.getKey({ id }));
    expect(failed).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
    expect(failed.message).toContain(id);
    const user = newId("user", t.clock.now());
    expect((await refusal(t.client.removeUser({ id: user }))).message).toContain(user);
  });

  it.each([
    ["key_unknown", "key_unknown"],
    ["a path", "../../etc/passwd"],
    ["a user id", "user_01M8V8Q0DPTE96EZPC480363BC"],
    ["a key id one character short", "key_01M8V8Q0DPTE96EZPC480363B"],
    ["5000 characters", "x".repeat(5000)],
  ])(
    "does not quote %s, which is not a key id",
    async (_name, value) => {
      const failed = await refusal(t.client.getKey({ id: value }));
      expect(failed).toMatchObject({ code: Code.NotFound, reason: "API_KEY_NOT_FOUND" });
      expect(failed.message).toContain("not a key id");
      expect(failed.message).not.toContain("looks like an API key secret");
      expect(failed.everything).not.toContain(value);
    },
  );
});
