import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/**
 * Every error the console can meet, in words a person can act on: the contract's ErrorInfo
 * reasons first, then the bare Connect codes (store outages, features the server lacks, network).
 */

export interface Problem {
  /** What went wrong, in one sentence. */
  message: string;
  /** The server's own message when it adds something (e.g. which field). */
  detail?: string;
  reason?: string;
  code?: Code;
  /** The admin key no longer works: the session should end. */
  signedOut: boolean;
}

export const REASON_TEXT: Readonly<Record<string, string>> = {
  API_KEY_NOT_FOUND: "That key does not exist in your organization: it may have been deleted.",
  API_KEY_SCOPE_NAME_INVALID: "A scope is not in the catalog, or is not one your admin key may grant.",
  API_KEY_ALLOW_IP_INVALID: "An allowed address is not a valid IP address or CIDR range (e.g. 203.0.113.0/24).",
  API_KEY_USER_INVALID: "The owner is not a user of your organization.",
  API_KEY_FIELD_INVALID: "A field is not valid.",
  API_KEY_LIMIT_EXCEEDED: "The key limit is reached: revoke or delete keys you no longer need (disabled keys still count).",
  PERMISSION_DENIED: "keygate refused this: your admin key's scopes or your user's role do not allow it (the reason follows).",
  UNAUTHENTICATED: "Your admin key no longer works (revoked, disabled, expired or mistyped). Sign in again.",
  WEBHOOK_ENDPOINT_NOT_FOUND: "That webhook endpoint does not exist in your organization: it may have been deleted.",
  WEBHOOK_DELIVERY_NOT_FOUND: "That delivery does not exist in your organization: its endpoint may have been deleted.",
  WEBHOOK_ENDPOINT_LIMIT_EXCEEDED: "The organization has as many webhook endpoints as it may: delete one it no longer needs.",
  IDENTITY_NOT_FOUND: "That identity does not exist in your organization: it may have been deleted.",
  IDENTITY_EXTERNAL_ID_TAKEN: "Another identity of your organization already has that external id.",
  WEBHOOK_PENDING_LIMIT_EXCEEDED: "This endpoint has many deliveries still pending; they are retried on their own. Send a test or redeliver once some have finished.",
};

const CODE_TEXT: Partial<Record<Code, string>> = {
  [Code.Unauthenticated]: REASON_TEXT["UNAUTHENTICATED"]!,
  [Code.PermissionDenied]: REASON_TEXT["PERMISSION_DENIED"]!,
  [Code.NotFound]: "Not found.",
  [Code.InvalidArgument]: "The request is not valid.",
  [Code.ResourceExhausted]: "A limit is reached.",
  [Code.Unimplemented]: "This keygate server does not offer this yet.",
  [Code.Unavailable]: "keygate cannot reach its store right now. Try again in a moment.",
  [Code.DeadlineExceeded]: "keygate took too long to answer. Try again.",
  [Code.Internal]: "keygate failed unexpectedly. Try again; if it persists, check the server's log.",
  [Code.Unknown]: "keygate answered with an unexpected error.",
  [Code.FailedPrecondition]: "It is not in a state that allows this (a revoked key, a disabled endpoint).",
  [Code.AlreadyExists]: "That already exists.",
  [Code.Aborted]: "The change collided with another one. Reload and try again.",
  [Code.Canceled]: "The request was canceled.",
};

export function describe(error: unknown): Problem {
  if (!(error instanceof ConnectError)) {
    return { message: "Cannot reach keygate: check the connection and that the server is running.", signedOut: false };
  }
  const reason = error.findDetails(ErrorInfoSchema)[0]?.reason;
  const known = reason !== undefined ? REASON_TEXT[reason] : undefined;
  // A fetch that never reached the server surfaces as `unknown` without a message of the server's.
  if (error.code === Code.Unknown && /fetch|network/i.test(error.rawMessage)) {
    return { message: "Cannot reach keygate: check the connection and that the server is running.", signedOut: false };
  }
  const message = known ?? CODE_TEXT[error.code] ?? `The request failed (${Code[error.code]}).`;
  const showDetail = error.code !== Code.Internal && error.rawMessage !== "" && error.rawMessage !== message;
  return {
    message,
    ...(showDetail ? { detail: error.rawMessage } : {}),
    ...(reason !== undefined ? { reason } : {}),
    code: error.code,
    signedOut: error.code === Code.Unauthenticated,
  };
}
