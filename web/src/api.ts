import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { KeyAdminService } from "../../gen/keygate/v1/key_admin_pb.js";

/**
 * The admin key lives in this module's memory, and in sessionStorage only when the user asks to
 * stay signed in for the tab. It is sent only as an Authorization header on same-origin calls:
 * never in a URL, never logged.
 */

const STORAGE_KEY = "keygate.console.adminKey";

let adminKey: string | null = readStored();

function readStored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function isSignedIn(): boolean {
  return adminKey !== null;
}

export function signIn(key: string, remember: boolean): void {
  adminKey = key;
  try {
    if (remember) sessionStorage.setItem(STORAGE_KEY, key);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage may be off (private mode): memory is enough.
  }
}

export function signOut(): void {
  adminKey = null;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

const authenticate: Interceptor = (next) => (req) => {
  if (adminKey !== null) req.header.set("authorization", `Bearer ${adminKey}`);
  return next(req);
};

/** KeyAdminService over the Connect protocol, on the origin that served the console. */
export const api: Client<typeof KeyAdminService> = createClient(
  KeyAdminService,
  createConnectTransport({ baseUrl: location.origin, interceptors: [authenticate] }),
);

/** A client authenticated with a key that is not (yet) the session's: to check it before signing in. */
export function clientFor(key: string): Client<typeof KeyAdminService> {
  const withKey: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  return createClient(KeyAdminService, createConnectTransport({ baseUrl: location.origin, interceptors: [withKey] }));
}
