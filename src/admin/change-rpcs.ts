import type { DescMethod } from "@bufbuild/protobuf";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";
import { OperatorService } from "../../gen/keygate/v1/operator_pb.js";

/**
 * Every admin RPC, classified once: a `change` writes state (creates, updates, deletes, revokes,
 * regenerates, removes or sets something), so a retry after an answer that never arrived must
 * not change it twice, and it accepts an idempotency key (idempotent-changes.ts); a `read`
 * changes nothing a retry could double (GetKey's reveal and the operators' looks are audited,
 * but a second look is a second look); a `stream` is no single answer to keep. The tables are
 * typed by the services' methods, so a new RPC does not compile until it is classified here
 * (and test/admin/change-rpcs.test.ts checks the kinds against the protos).
 */
export type RpcKind = "change" | "read" | "stream";

const KEY_ADMIN: Record<keyof typeof KeyAdminService.method, RpcKind> = {
  createKey: "change",
  listKeys: "read",
  getKey: "read",
  updateKey: "change",
  deleteKey: "change",
  revokeKey: "change",
  regenerateKey: "change",
  testKey: "read",
  listScopes: "read",
  getMyLimits: "read",
  listAuditEvents: "read",
  getKeyUsage: "read",
  getOrganizationUsage: "read",
  getBillingUsage: "read",
  getAnalyticsSummary: "read",
  getQuotaStatus: "read",
  watchUsage: "stream",
  addUser: "change",
  listUsers: "read",
  updateUser: "change",
  removeUser: "change",
  createWebhookEndpoint: "change",
  listWebhookEndpoints: "read",
  updateWebhookEndpoint: "change",
  deleteWebhookEndpoint: "change",
  rotateWebhookSecret: "change",
  sendTestWebhook: "change",
  listWebhookDeliveries: "read",
  redeliverWebhook: "change",
  getOrganizationSettings: "read",
  updateOrganizationSettings: "change",
  createIdentity: "change",
  getIdentity: "read",
  listIdentities: "read",
  updateIdentity: "change",
  deleteIdentity: "change",
  getIdentityUsage: "read",
};

const OPERATOR: Record<keyof typeof OperatorService.method, RpcKind> = {
  createOrganization: "change",
  getOrganization: "read",
  setOrganizationPlan: "change",
  regenerateOperatorKey: "change",
  revokeOperatorKey: "change",
};

/** Each admin method (`keygate.v1.KeyAdminService/CreateKey`) and its kind. */
export const ADMIN_RPC_KINDS: ReadonlyMap<string, RpcKind> = new Map([
  ...kindsOf(KeyAdminService.method, KEY_ADMIN),
  ...kindsOf(OperatorService.method, OPERATOR),
]);

function kindsOf<K extends string>(methods: Record<K, DescMethod>, kinds: Record<K, RpcKind>): [string, RpcKind][] {
  return (Object.keys(kinds) as K[]).map((name) => [rpcName(methods[name]), kinds[name]]);
}

/** `package.Service/Method`, as the admin services' logs and metrics name an RPC. */
export function rpcName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

/** True for an RPC that changes state: classified `change` above (unknown methods are not). */
export function isChangeRpc(method: DescMethod): boolean {
  return ADMIN_RPC_KINDS.get(rpcName(method)) === "change";
}
