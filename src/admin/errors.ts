import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { isId, type IdKind } from "../model/ids.js";
import { looksLikeSecret, redactSecrets, redactSecretValues } from "../model/secret.js";
import type { Refusal } from "./policy.js";

/**
 * Every admin error is deliberate: a Connect code plus a google.rpc.ErrorInfo whose reason is
 * one of the contract's constants. Anything else thrown becomes `internal` in the interceptor.
 */
export type ErrorReason =
  | "API_KEY_NOT_FOUND"
  | "API_KEY_SCOPE_NAME_INVALID"
  | "API_KEY_ALLOW_IP_INVALID"
  | "API_KEY_USER_INVALID"
  | "API_KEY_FIELD_INVALID"
  | "API_KEY_LIMIT_EXCEEDED"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  /** A webhook endpoint (or a delivery) that is not in the caller's organization, missing or another's. */
  | "WEBHOOK_ENDPOINT_NOT_FOUND"
  | "WEBHOOK_DELIVERY_NOT_FOUND"
  /** The organization holds as many webhook endpoints as it may. */
  | "WEBHOOK_ENDPOINT_LIMIT_EXCEEDED"
  /** An endpoint has too many deliveries pending to take a test or a redelivery. */
  | "WEBHOOK_PENDING_LIMIT_EXCEEDED"
  /** An identity that is not in the caller's organization, missing or another's. */
  | "IDENTITY_NOT_FOUND"
  /** Another identity of the organization already has the external id asked for. */
  | "IDENTITY_EXTERNAL_ID_TAKEN"
  | "IDENTITY_LIMIT_EXCEEDED"
  /** Keys that are not revoked are tied to the identity a DeleteIdentity names. */
  | "IDENTITY_IN_USE"
  /** The store could not be reached or answer; a change was not applied: retry later. */
  | "STORE_UNAVAILABLE"
  /** The store did not confirm a change, which may have been applied: retry with the same idempotency key. */
  | "CHANGE_MAY_HAVE_BEEN_APPLIED";

export const ERROR_DOMAIN = "keygate";

export const CODE_OF_REASON: Readonly<Record<ErrorReason, Code>> = {
  API_KEY_NOT_FOUND: Code.NotFound,
  API_KEY_SCOPE_NAME_INVALID: Code.InvalidArgument,
  API_KEY_ALLOW_IP_INVALID: Code.InvalidArgument,
  API_KEY_USER_INVALID: Code.InvalidArgument,
  API_KEY_FIELD_INVALID: Code.InvalidArgument,
  API_KEY_LIMIT_EXCEEDED: Code.ResourceExhausted,
  WEBHOOK_ENDPOINT_NOT_FOUND: Code.NotFound,
  WEBHOOK_DELIVERY_NOT_FOUND: Code.NotFound,
  WEBHOOK_ENDPOINT_LIMIT_EXCEEDED: Code.ResourceExhausted,
  WEBHOOK_PENDING_LIMIT_EXCEEDED: Code.ResourceExhausted,
  IDENTITY_NOT_FOUND: Code.NotFound,
  IDENTITY_EXTERNAL_ID_TAKEN: Code.AlreadyExists,
  IDENTITY_LIMIT_EXCEEDED: Code.ResourceExhausted,
  IDENTITY_IN_USE: Code.FailedPrecondition,
  PERMISSION_DENIED: Code.PermissionDenied,
  UNAUTHENTICATED: Code.Unauthenticated,
  STORE_UNAVAILABLE: Code.Unavailable,
  CHANGE_MAY_HAVE_BEEN_APPLIED: Code.Unavailable,
};

/**
 * The code follows from the reason, except where a reason of the contract's fixed list must be
 * sent with another code (a field that is valid but whose request cannot be met right now).
 * Messages and metadata that quote a request value never carry a secret pasted into it: errors
 * reach the RPC log line, terminals and support tickets.
 */
export function adminError(
  reason: ErrorReason,
  message: string,
  metadata: Record<string, string> = {},
  code: Code = CODE_OF_REASON[reason],
): ConnectError {
  return new ConnectError(redactSecrets(message), code, undefined, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata: redactSecretValues(metadata) }) },
  ]);
}

const KIND_NAME: Record<IdKind, string> = {
  key: "a key",
  user: "a user",
  org: "an organization",
  evt: "an event",
  msg: "a webhook event",
  whe: "a webhook endpoint",
  whd: "a webhook delivery",
  idt: "an identity",
};

/**
 * What an error says about a request value that is not a well-formed id of the kind expected:
 * never the value, which may be anything pasted in its place, and a warning when it looks like
 * a secret. Only well-formed ids are quoted back.
 */
export function notAnId(kind: IdKind, value: string): string {
  const problem = `the value given is not ${KIND_NAME[kind]} id`;
  return looksLikeSecret(value) ? `${problem}; it looks like an API key secret, which must never be sent as an id` : problem;
}

/** A refusal of the policy as the admin API answers it: the field and scope at fault named. */
export function refusalError(refusal: Refusal): ConnectError {
  return adminError("PERMISSION_DENIED", refusal.message, {
    ...(refusal.field !== undefined && { field: refusal.field }),
    ...(refusal.scope !== undefined && { scope: refusal.scope }),
  });
}

/** An invalid request field: the message and the ErrorInfo both name it. */
export function fieldError(
  field: string,
  problem: string,
  reason: ErrorReason = "API_KEY_FIELD_INVALID",
): ConnectError {
  return adminError(reason, `${field}: ${problem}`, { field });
}

/**
 * A well-formed field the server cannot act on in the present state (a recoverable key without
 * an encryption key, the secret of a key that is not recoverable): failed_precondition, since
 * retrying the same request will not help until the state changes.
 */
export function preconditionFailed(field: string, problem: string): ConnectError {
  return adminError("API_KEY_FIELD_INVALID", `${field}: ${problem}`, { field }, Code.FailedPrecondition);
}

/** Unknown ids and ids of another organization look the same to the caller. */
export function keyNotFound(id: string): ConnectError {
  if (!isId("key", id)) return adminError("API_KEY_NOT_FOUND", `key not found: ${notAnId("key", id)}`);
  return adminError("API_KEY_NOT_FOUND", `key ${JSON.stringify(id)} not found`, { id });
}
