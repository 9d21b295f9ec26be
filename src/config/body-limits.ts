/**
 * Default sizes of what requests may make keygate read and hold: the settings that change them
 * (config.ts) start from these, and the server (src/server) falls back to them. They live here, on
 * the ground floor, so that configuration never imports the server.
 */

/**
 * The largest request message of a service that sets none itself, Check among them: gRPC's usual
 * 4 MiB receive limit (grpc-go, grpc-java), which is what Envoy's ext_authz clients are built
 * against. A CheckRequest carries the request's headers (Envoy's default limit: 60 KiB) and, only
 * when `with_request_body` is configured, part of its body, so real ones are far smaller; the
 * limit is there for deployments with large headers or bodies. What bounds memory is not this
 * per-message limit but the body budget below.
 */
export const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024;

/** The admin services' request bodies: keys, users and filters are small. */
export const DEFAULT_ADMIN_MAX_BODY_BYTES = 64 * 1024;

/**
 * JSON messages to services anyone may call (no admission: Check, health, the access log). JSON
 * costs far more to parse than protobuf: a deeply nested document of 4 MB blocks the event loop
 * for seconds, long past Envoy's Check timeouts. Envoy sends binary protobuf, which keeps the
 * 4 MiB limit; JSON there is for people trying things out.
 */
export const OPEN_JSON_MAX_BYTES = 64 * 1024;

/**
 * Unfinished request bodies held at once: 16 MiB per connection (Envoy multiplexes its Checks,
 * a few KiB each, over a few connections), 64 MiB per process.
 */
export const DEFAULT_BODY_BUDGET: { maxBytesPerConnection: number; maxBytesPerProcess: number } = { maxBytesPerConnection: 16 * 1024 * 1024, maxBytesPerProcess: 64 * 1024 * 1024 };

/** A connection must be able to hold one message of the largest default size and its framing. */
export const MIN_BODY_BYTES_PER_CONNECTION = DEFAULT_READ_MAX_BYTES + 1024;

/** An HTTP/1.1 request's body must have arrived this long after its headers. */
export const DEFAULT_REQUEST_BODY_TIMEOUT_MS = 30_000;
