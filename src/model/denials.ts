import { Code } from "@connectrpc/connect";

/**
 * Every way Check can deny, in the contract's order, and the one table that maps each to what
 * Envoy and the client see. The codes double as log fields and usage outcomes.
 */
export const DENIAL_CODES = [
  "PATH_REJECTED",
  "API_KEY_MISSING",
  "API_KEY_INVALID",
  "API_KEY_REVOKED",
  "API_KEY_DISABLED",
  "API_KEY_EXPIRED",
  "IP_NOT_ALLOWED",
  "ROUTE_NOT_ALLOWED",
  "SCOPE_MISSING",
  "RATE_LIMITED",
  "QUOTA_EXCEEDED",
  // Last though Check decides it before the quota: outcomes are counted by their index here (src/usage/key-day-rows.ts).
  "CREDITS_EXHAUSTED",
] as const;

export type DenialCode = (typeof DENIAL_CODES)[number];

export interface Denial {
  httpStatus: 400 | 401 | 403 | 429;
  /**
   * The google.rpc.Code in CheckResponse.status: the contract names only these two for denials,
   * so the 400 is PERMISSION_DENIED too.
   */
  grpcCode: Code.Unauthenticated | Code.PermissionDenied;
  message: string;
}

export const DENIALS: Readonly<Record<DenialCode, Denial>> = {
  PATH_REJECTED: {
    httpStatus: 400,
    grpcCode: Code.PermissionDenied,
    message: "The request path is ambiguous: it holds a ; parameter, an encoded slash, backslash, semicolon or NUL, a backslash, or a . or .. segment.",
  },
  API_KEY_MISSING: {
    httpStatus: 401,
    grpcCode: Code.Unauthenticated,
    message: "An API key is required: send it in the X-API-Key header or as Authorization: Bearer <key>.",
  },
  API_KEY_INVALID: { httpStatus: 401, grpcCode: Code.Unauthenticated, message: "The API key is not valid." },
  API_KEY_REVOKED: { httpStatus: 401, grpcCode: Code.Unauthenticated, message: "The API key has been revoked." },
  API_KEY_DISABLED: { httpStatus: 401, grpcCode: Code.Unauthenticated, message: "The API key is disabled." },
  API_KEY_EXPIRED: { httpStatus: 401, grpcCode: Code.Unauthenticated, message: "The API key has expired." },
  IP_NOT_ALLOWED: {
    httpStatus: 403,
    grpcCode: Code.PermissionDenied,
    message: "Requests with this API key are not allowed from this IP address.",
  },
  ROUTE_NOT_ALLOWED: {
    httpStatus: 403,
    grpcCode: Code.PermissionDenied,
    message: "No route allows this method and path.",
  },
  SCOPE_MISSING: {
    httpStatus: 403,
    grpcCode: Code.PermissionDenied,
    message: "The API key does not have the scopes this request requires.",
  },
  RATE_LIMITED: {
    httpStatus: 429,
    grpcCode: Code.PermissionDenied,
    message: "The API key's rate limit is exceeded; retry after the time in the Retry-After header.",
  },
  CREDITS_EXHAUSTED: {
    httpStatus: 429,
    grpcCode: Code.PermissionDenied,
    message: "The API key's credits are used up.",
  },
  QUOTA_EXCEEDED: {
    httpStatus: 429,
    grpcCode: Code.PermissionDenied,
    message: "The organization's request quota is exceeded; retry after the time in the Retry-After header.",
  },
};

/**
 * RATE_LIMITED's message for the limit that ran out, named as the key's or its identity's
 * (`name` is a limit name: letters, digits, `_`, `-`, `.`, so it is quoted as is).
 */
export function rateLimitedMessage(owner: "key" | "identity", name: string): string {
  const whose = owner === "key" ? "The API key's" : "The API key's identity's";
  return `${whose} rate limit "${name}" is exceeded; retry after the time in the Retry-After header.`;
}

/**
 * CREDITS_EXHAUSTED's message: whose balance ran out (the key's or its identity's) and when it
 * refills, if it ever does (`refillAtMs` null: it does not).
 */
export function creditsExhaustedMessage(owner: "key" | "identity", refillAtMs: number | null): string {
  const whose = owner === "key" ? "The API key's" : "The API key's identity's";
  const when = refillAtMs === null ? "they are not refilled" : `they are refilled at ${new Date(refillAtMs).toISOString()}`;
  return `${whose} credits are used up; ${when}.`;
}
