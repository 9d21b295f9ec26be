import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";
import { ADMIN_RPC_KINDS, isChangeRpc, rpcName } from "../../src/admin/change-rpcs.js";

/** The one list of admin RPCs that change state, which the idempotency key applies to. */
describe("change RPCs", () => {
  const methods = [...KeyAdminService.methods, ...OperatorService.methods];

  it("classifies every method of both admin services, and nothing else", () => {
    expect([...ADMIN_RPC_KINDS.keys()].sort()).toEqual(methods.map(rpcName).sort());
  });

  it("calls a method a stream exactly when it streams, and a change only when the proto allows side effects", () => {
    for (const method of methods) {
      const kind = ADMIN_RPC_KINDS.get(rpcName(method));
      expect(kind === "stream", rpcName(method)).toBe(method.methodKind !== "unary");
      if (method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN) expect(kind, rpcName(method)).toBe("read");
    }
  });

  it("lists the writes of keys, users, webhooks, settings, identities, organizations and operator keys as changes", () => {
    expect(methods.filter(isChangeRpc).map(rpcName).sort()).toEqual([
      "keygate.v1.KeyAdminService/AddUser",
      "keygate.v1.KeyAdminService/CreateIdentity",
      "keygate.v1.KeyAdminService/CreateKey",
      "keygate.v1.KeyAdminService/CreateWebhookEndpoint",
      "keygate.v1.KeyAdminService/DeleteIdentity",
      "keygate.v1.KeyAdminService/DeleteKey",
      "keygate.v1.KeyAdminService/DeleteWebhookEndpoint",
      "keygate.v1.KeyAdminService/RedeliverWebhook",
      "keygate.v1.KeyAdminService/RegenerateKey",
      "keygate.v1.KeyAdminService/RemoveUser",
      "keygate.v1.KeyAdminService/RevokeKey",
      "keygate.v1.KeyAdminService/RotateWebhookSecret",
      "keygate.v1.KeyAdminService/SendTestWebhook",
      "keygate.v1.KeyAdminService/UpdateIdentity",
      "keygate.v1.KeyAdminService/UpdateKey",
      "keygate.v1.KeyAdminService/UpdateOrganizationSettings",
      "keygate.v1.KeyAdminService/UpdateUser",
      "keygate.v1.KeyAdminService/UpdateWebhookEndpoint",
      "keygate.v1.OperatorService/CreateOrganization",
      "keygate.v1.OperatorService/RegenerateOperatorKey",
      "keygate.v1.OperatorService/RevokeOperatorKey",
      "keygate.v1.OperatorService/SetOrganizationPlan",
    ]);
  });
});
