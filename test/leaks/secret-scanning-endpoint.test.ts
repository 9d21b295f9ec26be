import { createHash } from "node:crypto";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { connect, constants, type IncomingHttpHeaders } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_REPORT_BYTES } from "../../src/leaks/leak-report.js";
import { generateSecret } from "../../src/model/secret.js";
import { REPORTS_PER_MINUTE, REPORTS_PER_SOURCE_PER_MINUTE, SECRET_SCANNING_PATH } from "../../src/server/secret-scanning-endpoint.js";
import { ManualClock, type Clock } from "../../src/time/clock.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GithubReportSigner } from "./github-report-signer.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const github = new GithubReportSigner();
let running: TestApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function appWithKeysFile(env: Record<string, string> = {}, clock?: Clock) {
  const path = join(mkdtempSync(join(tmpdir(), "keygate-leaks-")), "secret-scanning-keys.json");
  writeFileSync(path, github.keysFile());
  running = await startTestApp({ env: { KEYGATE_SECRET_SCANNING_KEYS_FILE: path, ...env }, ...(clock && { clock }) });
  return { t: running, path };
}

function post(t: TestApp, body: string, headers: Record<string, string>) {
  return fetch(`${t.app.url}${SECRET_SCANNING_PATH}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
}

const signedHeaders = (signer: GithubReportSigner, body: string) => ({
  "github-public-key-identifier": signer.keyIdentifier,
  "github-public-key-signature": signer.signatureOf(body),
});

const entry = (token: string) => ({ token, type: "keygate_api_key", url: "https://github.com/octo/repo/blob/main/.env", source: "content" });

describe("POST /v1/secret-scanning/github", () => {
  it("answers every token: a stored key's secret true, a well-formed unknown one and a malformed one false", async () => {
    const { t } = await appWithKeysFile();
    const unknown = generateSecret("live");
    const malformed = `${t.admin.secret.slice(0, -1)}${t.admin.secret.endsWith("A") ? "B" : "A"}`;
    const body = JSON.stringify([entry(t.admin.secret), entry(unknown), entry(malformed)]);
    const response = await post(t, body, signedHeaders(github, body));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual([
      { token_hash: sha256(t.admin.secret), token_type: "keygate_api_key", label: "true_positive" },
      { token_hash: sha256(unknown), token_type: "keygate_api_key", label: "false_positive" },
      { token_hash: sha256(malformed), token_type: "keygate_api_key", label: "false_positive" },
    ]);
  });

  it("disables a reported key before answering, so the very next Check is denied; a bad signature changes nothing", async () => {
    const { t } = await appWithKeysFile();
    const { secret, key } = await t.client.createKey({ name: "ci deploy", scopes: [] });
    const body = JSON.stringify([entry(secret)]);
    expect((await post(t, body, signedHeaders(new GithubReportSigner(github.keyIdentifier), body))).status).toBe(401);
    expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: true });

    expect((await post(t, body, signedHeaders(github, body))).status).toBe(200);
    expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: false, reason: "API_KEY_DISABLED" });
    const audited = await t.store.audit.list(t.admin.organization.id, { keyId: key!.id, limit: 10 });
    expect(audited.filter((event) => event.action === "key.leaked").map((event) => event.details)).toEqual([
      expect.objectContaining({ url: entry(secret).url, source: "content", action: "disable" }),
    ]);
    const metrics = await (await fetch(`${t.app.url}/metrics`)).text();
    expect(metrics).toContain('keygate_secret_scanning_reports_refused_total{reason="signature_invalid"} 1');
    expect(metrics).toContain('keygate_secret_scanning_tokens_total{label="true_positive"} 1');
    expect(metrics).toContain('keygate_leaked_keys_total{action="disable"} 1');
    expect(metrics).toContain('keygate_leaked_keys_total{action="revoke"} 0');
  });

  it("acts on a report once: the same signed report again answers true and leaves a key an admin re-enabled enabled", async () => {
    const { t } = await appWithKeysFile();
    const { secret, key } = await t.client.createKey({ name: "ci deploy", scopes: [] });
    const body = JSON.stringify([entry(secret)]);
    expect((await post(t, body, signedHeaders(github, body))).status).toBe(200);
    await t.client.updateKey({ id: key!.id, isActive: true });
    const replayed = await post(t, body, signedHeaders(github, body));
    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toEqual([{ token_hash: sha256(secret), token_type: "keygate_api_key", label: "true_positive" }]);
    expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: true });
    const audited = await t.store.audit.list(t.admin.organization.id, { keyId: key!.id, limit: 10 });
    expect(audited.filter((event) => event.action === "key.leaked")).toHaveLength(1);
  });

  it("answers a deleted key's secret true and tells of it; a leaked previous secret stops at once while the current one works", async () => {
    const { t } = await appWithKeysFile();
    const gone = await t.client.createKey({ name: "old deploy", scopes: [] });
    await t.client.deleteKey({ id: gone.key!.id });
    const { secret: previous, key } = await t.client.createKey({ name: "rotated", scopes: [] });
    const { secret: current } = await t.client.regenerateKey({ id: key!.id, gracePeriodSeconds: 3_600 });
    expect(await t.client.testKey({ apiKey: previous })).toMatchObject({ valid: true });

    const body = JSON.stringify([entry(gone.secret), entry(previous)]);
    const response = await post(t, body, signedHeaders(github, body));
    expect((await response.json()) as unknown[]).toEqual([
      expect.objectContaining({ token_hash: sha256(gone.secret), label: "true_positive" }),
      expect.objectContaining({ token_hash: sha256(previous), label: "true_positive" }),
    ]);
    expect(await t.client.testKey({ apiKey: previous })).toMatchObject({ valid: false });
    expect(await t.client.testKey({ apiKey: current })).toMatchObject({ valid: true });
    const leakedAudit = async (id: string) =>
      (await t.store.audit.list(t.admin.organization.id, { keyId: id, limit: 10 })).filter((event) => event.action === "key.leaked").map((event) => event.details);
    expect(await leakedAudit(gone.key!.id)).toEqual([expect.objectContaining({ url: entry(gone.secret).url, source: "content", action: "none" })]);
    expect(await leakedAudit(key!.id)).toEqual([expect.objectContaining({ action: "end_grace_period", secret: "previous" })]);
  });

  it("refuses signature failures with 401 and bad bodies with 400, naming the reason", async () => {
    const { t } = await appWithKeysFile();
    const body = JSON.stringify([entry(t.admin.secret)]);
    const cases: Array<[string, string, Record<string, string>, number, string]> = [
      ["unsigned", body, {}, 401, "SIGNATURE_MISSING"],
      ["an unknown key", body, signedHeaders(new GithubReportSigner("unlisted"), body), 401, "SIGNATURE_KEY_UNKNOWN"],
      ["signed by another key", body, signedHeaders(new GithubReportSigner(github.keyIdentifier), body), 401, "SIGNATURE_INVALID"],
      ["a tampered body", body.replace("content", "commit"), signedHeaders(github, body), 401, "SIGNATURE_INVALID"],
      ["malformed JSON", "[{", signedHeaders(github, "[{"), 400, "BODY_MALFORMED"],
      ["over the bound", "x".repeat(MAX_REPORT_BYTES + 1), { "github-public-key-identifier": github.keyIdentifier, "github-public-key-signature": "c2ln" }, 400, "BODY_TOO_LARGE"],
    ];
    for (const [name, sent, headers, status, code] of cases) {
      const response = await post(t, sent, headers);
      expect({ name, status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }).toEqual({ name, status, code });
    }
  });

  it("refuses a body over the bound that declares no length, once it passes the bound, and lets go of the stream", async () => {
    // With a shutdown deadline far past the test's timeout, a stream the refusal left open would
    // hold close() until the test fails.
    const { t } = await appWithKeysFile({ KEYGATE_SHUTDOWN_TIMEOUT_MS: "600000" });
    // HTTP/2, whose stream the server ends cleanly when it stops reading (HTTP/1.1 can only close
    // the connection, and a reset there may overtake the answer).
    const session = connect(t.app.url);
    try {
      const stream = session.request({ ":method": "POST", ":path": SECRET_SCANNING_PATH, ...signedHeaders(github, "[]") });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let sent = 0; sent <= MAX_REPORT_BYTES; sent += chunk.length) stream.write(chunk);
      stream.end();
      let text = "";
      stream.on("data", (data: Buffer) => (text += String(data)));
      const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders];
      await once(stream, "close");
      expect(headers[":status"]).toBe(400);
      expect(JSON.parse(text)).toMatchObject({ error: { code: "BODY_TOO_LARGE" } });
    } finally {
      session.close();
    }
    running = undefined;
    await t.close();
  });

  it("lets go of a body's bytes when its client goes before the end", async () => {
    const { t } = await appWithKeysFile();
    const buffered = async () => Number(/^keygate_request_body_buffered_bytes (\d+)$/m.exec(await (await fetch(`${t.app.url}/metrics`)).text())?.[1]);
    const session = connect(t.app.url);
    try {
      const stream = session.request({ ":method": "POST", ":path": SECRET_SCANNING_PATH, ...signedHeaders(github, "[]") });
      stream.on("error", () => {});
      stream.write(Buffer.alloc(1000, 0x20));
      await vi.waitFor(async () => expect(await buffered()).toBe(1000), { timeout: 20_000 });
      stream.close(constants.NGHTTP2_CANCEL);
      await vi.waitFor(async () => expect(await buffered()).toBe(0), { timeout: 20_000 });
    } finally {
      session.close();
    }
  });

  it("verifies with the keys file as it is now: a refreshed file's new key is taken, a dropped one refused", async () => {
    const { t, path } = await appWithKeysFile();
    const next = new GithubReportSigner("next-key");
    writeFileSync(`${path}.new`, next.keysFile());
    renameSync(`${path}.new`, path);
    const body = JSON.stringify([entry(generateSecret("test"))]);
    expect((await post(t, body, signedHeaders(next, body))).status).toBe(200);
    expect((await post(t, body, signedHeaders(github, body))).status).toBe(401);
  });

  it("bounds the reports one address sends before verifying any: past the bound 429 with Retry-After, and nothing changes", async () => {
    // The app's clock stands still, so no minute turns inside the flood: the bound is exact.
    const { t } = await appWithKeysFile({}, new ManualClock(Date.now()));
    const { secret } = await t.client.createKey({ name: "ci deploy", scopes: [] });
    // A flood of unsigned reports: refused on their headers (401) while admitted, then 429 from
    // the first past the address's bound.
    const statuses: number[] = [];
    for (let i = 0; i <= REPORTS_PER_SOURCE_PER_MINUTE; i++) statuses.push((await post(t, "[]", {})).status);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set([401]));
    expect(statuses.at(-1)).toBe(429);
    const body = JSON.stringify([entry(secret)]);
    const refused = await post(t, body, signedHeaders(github, body));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(await refused.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect(await t.client.testKey({ apiKey: secret })).toMatchObject({ valid: true });
    const metrics = await (await fetch(`${t.app.url}/metrics`)).text();
    expect(metrics).toContain('keygate_secret_scanning_reports_refused_total{reason="rate_limited"} 2');
    expect(metrics).toContain('keygate_secret_scanning_tokens_total{label="true_positive"} 0');
  });

  it("lets no unverified flood starve verified reports: they spend nothing of the shared bound, and the listed sources bypass it", async () => {
    const { t } = await appWithKeysFile(
      { KEYGATE_TRUSTED_PROXIES: "127.0.0.1/32,::1/128", KEYGATE_SECRET_SCANNING_SOURCES: "192.0.2.0/24" },
      new ManualClock(Date.now()),
    );
    const from = (address: string, body: string, headers: Record<string, string>) => post(t, body, { ...headers, "x-forwarded-for": address });
    const first = await t.client.createKey({ name: "first", scopes: [] });
    const firstBody = JSON.stringify([entry(first.secret)]);
    expect((await from("203.0.113.5", firstBody, signedHeaders(github, firstBody))).status).toBe(200);
    // Ten addresses flood unsigned reports, each within its own bound, together up to the total:
    // every one is still verified (401), since the verified report above gave its place back.
    const sources = REPORTS_PER_MINUTE / REPORTS_PER_SOURCE_PER_MINUTE;
    for (let s = 0; s < sources; s++) {
      const statuses = await Promise.all(Array.from({ length: REPORTS_PER_SOURCE_PER_MINUTE }, async () => (await from(`198.51.100.${s}`, "[]", {})).status));
      expect(new Set(statuses)).toEqual(new Set([401]));
    }
    // The total is spent: an address outside the list is refused before verification, signed or not.
    const second = await t.client.createKey({ name: "second", scopes: [] });
    const secondBody = JSON.stringify([entry(second.secret)]);
    expect((await from("198.51.100.200", "[]", {})).status).toBe(429);
    expect((await from("203.0.113.6", secondBody, signedHeaders(github, secondBody))).status).toBe(429);
    expect(await t.client.testKey({ apiKey: second.secret })).toMatchObject({ valid: true });
    // A listed source (GitHub's hooks ranges) is verified and acted on all the same.
    expect((await from("192.0.2.10", secondBody, signedHeaders(github, secondBody))).status).toBe(200);
    expect(await t.client.testKey({ apiKey: second.secret })).toMatchObject({ valid: false, reason: "API_KEY_DISABLED" });
  });

  it("takes only POST", async () => {
    const { t } = await appWithKeysFile();
    const response = await fetch(`${t.app.url}${SECRET_SCANNING_PATH}`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });

  it("does not exist without KEYGATE_SECRET_SCANNING_KEYS_FILE", async () => {
    running = await startTestApp();
    const body = JSON.stringify([entry(running.admin.secret)]);
    expect((await post(running, body, signedHeaders(github, body))).status).toBe(404);
  });

  it("does not start with a keys file that is not GitHub's format", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "keygate-leaks-")), "bad.json");
    writeFileSync(path, JSON.stringify({ public_keys: [{ key_identifier: "a", key: "not a key" }] }));
    await expect(startTestApp({ env: { KEYGATE_SECRET_SCANNING_KEYS_FILE: path } })).rejects.toThrow(/KEYGATE_SECRET_SCANNING_KEYS_FILE: .*not a PEM/);
  });
});
