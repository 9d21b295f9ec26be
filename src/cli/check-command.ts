import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Authorization, CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { checkOutcome, printCheckOutcome } from "./check-outcome.js";
import { checkRequest } from "./check-request.js";
import { EXIT, EXIT_HELP, UsageError, type CommandIo } from "./command.js";
import { DEFAULT_URL, keygateUrl } from "./remote.js";

export const CHECK_HELP = `Usage: keygate check --key SECRET|- [--method GET] [--path /machines/1] [--ip 203.0.113.7] [--header name=value]... [--json]

Asks a running keygate, as Envoy's ext_authz filter would, whether a request with this API key
may pass: sends the CheckRequest Envoy would send for it (over gRPC, to Authorization/Check) and
prints the decision, the HTTP status and code the client would get, the headers added and removed,
and the dynamic metadata Envoy would keep. The secret is sent in x-api-key and never printed.

Options:
  --key SECRET           the API key to try (sent as x-api-key); - reads it from standard input,
                         which keeps it out of ps and the shell's history
  --method METHOD        the request's method (default GET)
  --path PATH            the request's path, with any query (default /)
  --ip ADDRESS           the client's address, for keys with an IP allow-list (default 127.0.0.1)
  --host HOST            the request's host (default localhost)
  --header NAME=VALUE    another request header; repeat for more
  --require-scope SCOPE  a scope the route requires, as Envoy's context_extensions
                         required_scopes would name it; repeat for more (default: none, or what
                         keygate's route table says)
  --url URL              keygate's address (default: $KEYGATE_URL, else ${DEFAULT_URL}); with
                         KEYGATE_DATA_PLANE_PORT set, Check is called on that port of its host
  --timeout SECONDS      give up after this long (default 10)
  --json                 print the outcome as JSON, for scripts
  -h, --help             show this help

Environment: KEYGATE_DATA_PLANE_TOKEN, when keygate requires one, is sent as Envoy sends it
(authorization: Bearer <token> in the call's metadata). KEYGATE_DATA_PLANE_PORT as above.

${EXIT_HELP}
`;

const OPTIONS = {
  key: { type: "string" },
  method: { type: "string", default: "GET" },
  path: { type: "string", default: "/" },
  ip: { type: "string", default: "127.0.0.1" },
  host: { type: "string", default: "localhost" },
  header: { type: "string", multiple: true },
  "require-scope": { type: "string", multiple: true },
  url: { type: "string" },
  timeout: { type: "string", default: "10" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Where Check is served: keygate's URL, on KEYGATE_DATA_PLANE_PORT when Check has a listener of its own. */
function checkUrl(flag: string | undefined, env: CommandIo["env"]): string {
  const url = new URL(keygateUrl(flag, env));
  const port = env["KEYGATE_DATA_PLANE_PORT"];
  if (port !== undefined && port !== "") {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
      throw new UsageError(`KEYGATE_DATA_PLANE_PORT must be a port from 1 to 65535, got ${JSON.stringify(port)}`);
    }
    url.port = port;
  }
  return url.origin;
}

/** Shorter than any keygate secret: hiding such a string would garble the output, and it is no secret. */
const SHORTEST_HIDDEN = 16;

/** Whatever is printed, the secret tried is not: a server that echoed it would still not make us print it. */
function withoutSecret(io: CommandIo, secret: string): CommandIo {
  if (secret.length < SHORTEST_HIDDEN) return io;
  const hide = (text: string) => text.split(secret).join("[the key]");
  return { ...io, out: (text) => io.out(hide(text)), err: (text) => io.err(hide(text)) };
}

export async function checkCommand(args: string[], terminal: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    terminal.out(CHECK_HELP);
    return EXIT.ok;
  }
  if (values.key === undefined) throw new UsageError("--key SECRET is required");
  const key = values.key === "-" ? await keyFromStdin(terminal) : values.key;
  const io = withoutSecret(terminal, key);
  const request = checkRequest({
    key,
    method: values.method,
    path: values.path,
    ip: values.ip,
    host: values.host,
    headers: values.header ?? [],
    requiredScopes: values["require-scope"],
  });
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got ${JSON.stringify(values.timeout)}`);
  const baseUrl = checkUrl(values.url, io.env);
  const token = io.env["KEYGATE_DATA_PLANE_TOKEN"];
  const client = createClient(Authorization, createGrpcTransport({ baseUrl, defaultTimeoutMs: timeoutSeconds * 1000 }));
  try {
    const response = await client.check(request, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    const outcome = checkOutcome(response);
    if (values.json) io.out(`${JSON.stringify({ ...outcome, response: toJson(CheckResponseSchema, response) }, null, 2)}\n`);
    else printCheckOutcome(io, outcome);
    return outcome.decision === "allowed" ? EXIT.ok : EXIT.requestDenied;
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    io.err(`keygate check: ${callFailure(error, baseUrl, token !== undefined)}\n`);
    return EXIT.failure;
  }
}

async function keyFromStdin(io: CommandIo): Promise<string> {
  if (!io.readStdin) throw new UsageError("--key -: pipe the secret on standard input");
  return (await io.readStdin()).trim();
}

/** A failed call (not a denial, which is an answer) in words that say what to change. */
function callFailure(error: ConnectError, baseUrl: string, sentToken: boolean): string {
  if (error.code === Code.Unauthenticated) {
    return sentToken
      ? `keygate refused the data-plane token in KEYGATE_DATA_PLANE_TOKEN (${error.rawMessage})`
      : `keygate requires a data-plane token: set KEYGATE_DATA_PLANE_TOKEN to the server's (${error.rawMessage})`;
  }
  if (error.code === Code.Unavailable && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|connect/i.test(error.rawMessage)) {
    return `cannot reach keygate's Check at ${baseUrl} (${error.rawMessage}); check --url, KEYGATE_URL and KEYGATE_DATA_PLANE_PORT`;
  }
  // keygate answers Unimplemented (HTTP 404) for Check on the admin port once Check has a listener of its own.
  if (error.code === Code.Unimplemented) {
    return `Check is not served at ${baseUrl} (${error.rawMessage || "unimplemented"}): keygate serves it on its data-plane port; set KEYGATE_DATA_PLANE_PORT to the server's, or point --url (or KEYGATE_URL) at that port`;
  }
  return `Check failed: ${error.rawMessage || Code[error.code]} (${Code[error.code]})`;
}
