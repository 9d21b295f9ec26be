import type { TextMapGetter } from "@opentelemetry/api";

/** How the propagators read a call's Fetch-API headers (Connect's request headers). */
export const fetchHeaders: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, name) => carrier.get(name) ?? undefined,
};
