import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitPeriod } from "../../gen/keygate/v1/key_admin_pb.js";
import { cliAgainst } from "./in-process-cli.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * keygate check against a real keygate: the CheckRequest Envoy would send, the decision printed
 * for people and for scripts, exit codes by outcome, the data-plane token and port honoured, and
 * the secret never printed.
 */

const TOKEN = "data-plane-token-0123456789abcdefghijklmnop";

let open: TestApp;
let guarded: TestApp;
const run = cliAgainst(() => open).cli;
const runGuarded = cliAgainst(() => guarded).cli;
let secret: string;
let keyId: string;

beforeAll(async () => {
  [open, guarded] = await Promise.all([
    startTestApp(),
    startTestApp({ env: { KEYGATE_DATA_PLANE_TOKEN: TOKEN, KEYGATE_DATA_PLANE_PORT: "0" } }),
  ]);
  const created = await open.client.createKey({
    name: "tried by hand",
    scopes: ["machines:read"],
    allowIps: ["203.0.113.0/24"],
    rateLimit: 100,
    rateLimitPeriod: RateLimitPeriod.MINUTE,
  });
  secret = created.secret;
  keyId = created.key!.id;
});
afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close()]);
});

const allowedRequest = () => ["check", "--key", secret, "--ip", "203.0.113.7", "--path", "/machines/1", "--require-scope", "machines:read"];

describe("keygate check", () => {
  it("prints an allowed request's headers and dynamic metadata, exit 0, never the secret", async () => {
    const allowed = await run(allowedRequest());
    expect(allowed.err).toBe("");
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/^decision: +allowed$/m);
    expect(allowed.out).toMatch(/^http status: +200$/m);
    expect(allowed.out).toMatch(/^code: +OK \(gRPC OK\)$/m);
    expect(allowed.out).toMatch(new RegExp(`^ {2}x-keygate-key-id: +${keyId}$`, "m"));
    expect(allowed.out).toMatch(/^ {2}x-api-key: +\(removed\)$/m);
    expect(allowed.out).toMatch(/^ {2}x-ratelimit-limit: +100$/m);
    expect(allowed.out).toMatch(new RegExp(`^ {2}key_id: +${keyId}$`, "m"));
    expect(allowed.out).toMatch(/^ {2}scopes: +machines:read$/m);
    expect(allowed.out).not.toContain(secret);
  });

  it("reads the key from standard input with --key -, so it stays out of ps and the shell's history", async () => {
    const piped = await run(["check", "--key", "-", "--ip", "203.0.113.7", "--json"], { stdin: `${secret}\n` });
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.out)).toMatchObject({ decision: "allowed", dynamicMetadata: { key_id: keyId } });
    expect(piped.out).not.toContain(secret);
    expect((await run(["check", "--key", "-", "--json"], { stdin: "" })).err).toContain("--key is empty");
  });

  it("prints the outcome as JSON with --json", async () => {
    const allowed = await run([...allowedRequest(), "--json"]);
    expect(allowed.code).toBe(0);
    expect(allowed.out).not.toContain(secret);
    const outcome = JSON.parse(allowed.out);
    expect(outcome).toMatchObject({
      decision: "allowed",
      httpStatus: 200,
      code: "OK",
      grpcStatus: "OK",
      upstreamHeaders: { "x-keygate-key-id": keyId, "x-keygate-organization-id": open.admin.organization.id },
      removedHeaders: ["x-api-key"],
      responseHeaders: { "x-ratelimit-limit": "100" },
      dynamicMetadata: { key_id: keyId, organization_id: open.admin.organization.id, scopes: "machines:read" },
    });
    expect(outcome.response.okResponse).toBeDefined();
  });

  it("prints each denial's HTTP status and code, exit 6", async () => {
    for (const [args, httpStatus, code, grpc] of [
      [["--ip", "198.51.100.1"], 403, "IP_NOT_ALLOWED", "PERMISSION_DENIED"],
      [["--ip", "203.0.113.7", "--require-scope", "machines:delete"], 403, "SCOPE_MISSING", "PERMISSION_DENIED"],
      [["--ip", "203.0.113.7", "--path", "/machines/..;/1", "--require-scope", "machines:read"], 400, "PATH_REJECTED", "PERMISSION_DENIED"],
    ] as const) {
      const denied = await run(["check", "--key", secret, ...args, "--json"]);
      expect(denied.code, code).toBe(6);
      expect(denied.out).not.toContain(secret);
      expect(JSON.parse(denied.out), code).toMatchObject({ decision: "denied", httpStatus, code, grpcStatus: grpc, upstreamHeaders: {} });
    }
    const unknown = "sk_live_0000000000000000000000000000000000000000";
    const human = await run(["check", "--key", unknown]);
    expect(human.code).toBe(6);
    expect(human.out).toMatch(/^decision: +denied$/m);
    expect(human.out).toMatch(/^http status: +401$/m);
    expect(human.out).toMatch(/^code: +API_KEY_INVALID \(gRPC UNAUTHENTICATED\)$/m);
    expect(human.out).toMatch(/^ {2}content-type: +application\/json$/m);
    expect(human.out).not.toContain(unknown);
  });

  it("sends KEYGATE_DATA_PLANE_TOKEN to KEYGATE_DATA_PLANE_PORT, and says so when keygate wants a token", async () => {
    const created = await guarded.client.createKey({ name: "behind a token" });
    const env = { KEYGATE_URL: guarded.app.url, KEYGATE_DATA_PLANE_PORT: String(guarded.app.dataPlanePort) };
    const withToken = await runGuarded(["check", "--key", created.secret, "--json"], { env: { ...env, KEYGATE_DATA_PLANE_TOKEN: TOKEN } });
    expect(withToken.err).toBe("");
    expect(JSON.parse(withToken.out)).toMatchObject({ decision: "allowed", dynamicMetadata: { key_id: created.key!.id } });

    const without = await runGuarded(["check", "--key", created.secret], { env });
    expect(without.code).toBe(1);
    expect(without.err).toContain("set KEYGATE_DATA_PLANE_TOKEN");
    const wrong = await runGuarded(["check", "--key", created.secret], { env: { ...env, KEYGATE_DATA_PLANE_TOKEN: `${TOKEN}x` } });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("refused the data-plane token");
    for (const failed of [without, wrong]) expect(failed.out + failed.err).not.toContain(created.secret);

    // Without the port, the admin port has no Check: the call fails rather than passing.
    const adminPort = await runGuarded(["check", "--key", created.secret], { env: { KEYGATE_URL: guarded.app.url, KEYGATE_DATA_PLANE_TOKEN: TOKEN } });
    expect(adminPort.code).toBe(1);
    expect(adminPort.err).toContain(`Check is not served at ${guarded.app.url}`);
    expect(adminPort.err).toContain("set KEYGATE_DATA_PLANE_PORT to the server's");
  });

  it("refuses bad flags with the error and its usage line, exit 2, without calling keygate", async () => {
    const offline = { env: { KEYGATE_URL: "http://127.0.0.1:9" } };
    for (const [args, says] of [
      [[], "--key SECRET is required"],
      [["--key", ""], "--key is empty"],
      [["--key", "k", "--ip", "nowhere"], '--ip must be an IPv4 or IPv6 address, got "nowhere"'],
      [["--key", "k", "--method", "GET /"], "--method must be an HTTP method"],
      [["--key", "k", "--path", "machines"], "--path must start with /"],
      [["--key", "k", "--header", "novalue"], "--header must look like name=value"],
      [["--key", "k", "--header", ":path=/x"], "--header must look like name=value"],
      [["--key", "k", "--timeout", "soon"], "--timeout must be a positive number"],
      [["--key", "k", "--colour", "red"], "--colour"],
      [["--key", "k", "extra"], "extra"],
    ] as const) {
      const refused = await run(["check", ...args], offline);
      expect(refused.code, says).toBe(2);
      expect(refused.out, says).toBe("");
      expect(refused.err, says).toContain(says);
      expect(refused.err, says).toMatch(/^keygate check: .*\nUsage: keygate check --key SECRET\|- .*\nRun `keygate check --help` for more\.\n$/);
    }
    const badPort = await run(["check", "--key", "k"], { env: { KEYGATE_DATA_PLANE_PORT: "http" } });
    expect(badPort.code).toBe(2);
    expect(badPort.err).toContain("KEYGATE_DATA_PLANE_PORT must be a port");
    const help = await run(["check", "--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("--require-scope SCOPE");
  });
});
