import { ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * `Cache-Control: no-store` on every admin response, errors included. Several carry a secret
 * (CreateKey, RegenerateKey, GetKey with show_key_value, CreateOrganization's owner key) and the
 * rest a tenant's keys, users and usage: no browser or shared proxy may keep any of them. Every
 * response rather than a list of the secret-bearing ones, so a new RPC cannot be forgotten.
 * Outermost of the admin interceptors, where rpcLogging has already made every error a
 * ConnectError, whose metadata is sent as headers.
 */
export const noStore: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    res.header.set("cache-control", "no-store");
    return res;
  } catch (error) {
    if (error instanceof ConnectError) error.metadata.set("cache-control", "no-store");
    throw error;
  }
};
