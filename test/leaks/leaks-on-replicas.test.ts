import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeakedKeyAction } from "../../gen/keygate/v1/key_admin_pb.js";
import { SECRET_SCANNING_PATH } from "../../src/server/secret-scanning-endpoint.js";
import type { CachedKey } from "../../src/cache/cached-key.js";
import type { TestApp } from "../support/app.js";
import { checker } from "../reliability/check-client.js";
import { startReplicaFleet, type ReplicaFleet } from "../reliability/replica-fleet.js";
import { GithubReportSigner } from "./github-report-signer.js";

/**
 * Issue 18's "Done when": two keygate replicas on one MongoDB replica set, a leak report sent to
 * replica A only, and the leaked key denied by the very next Check on each replica. A acts before
 * it answers, so its next Check is denied at once. B learns of the change through the change
 * feed: the test waits, without a Check and with a bounded deadline, until B's cache no longer
 * holds the key as usable (the key cache's TTL is a minute, so only the feed can have done it),
 * then B's very next Check must be denied.
 */
const FEED_DEADLINE_MS = 20_000;
const github = new GithubReportSigner();

describe("a leaked key on every replica", () => {
  let fleet: ReplicaFleet;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const keysFile = join(mkdtempSync(join(tmpdir(), "keygate-leaks-")), "secret-scanning-keys.json");
    writeFileSync(keysFile, github.keysFile());
    fleet = await startReplicaFleet({ env: { KEYGATE_SECRET_SCANNING_KEYS_FILE: keysFile, KEYGATE_CACHE_TTL_MS: "60000" } });
    [a, b] = fleet.replicas as [TestApp, TestApp];
  });
  afterAll(async () => {
    await fleet?.close();
  });

  /** Reports `secret` to replica A alone, as GitHub would. */
  async function reportToA(secret: string): Promise<unknown> {
    const body = JSON.stringify([{ token: secret, type: "keygate_api_key", url: "https://github.com/octo/repo/blob/main/.env", source: "content" }]);
    const response = await fetch(`${a.app.url}${SECRET_SCANNING_PATH}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "github-public-key-identifier": github.keyIdentifier, "github-public-key-signature": github.signatureOf(body) },
    });
    expect(response.status).toBe(200);
    return response.json();
  }

  /**
   * Resolves once B's cached entry for `secret` is gone or `applied` says B holds the change:
   * B's change feed has brought it (the cache's TTL is a minute). Bounded, never a sleep.
   */
  async function untilB(secret: string, applied: (cached: CachedKey) => boolean): Promise<void> {
    const hash = b.app.hasher.hash(secret);
    const deadline = performance.now() + FEED_DEADLINE_MS;
    for (;;) {
      const cached = b.app.keyCache.cached(hash);
      if (cached == null || applied(cached)) return;
      if (performance.now() > deadline) throw new Error(`B's cache did not take the change within ${FEED_DEADLINE_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** A live key, cached as allowed on both replicas. */
  async function keyCachedOnBoth(name: string): Promise<{ id: string; secret: string }> {
    const { key, secret } = await a.client.createKey({ name, scopes: ["machines:read"] });
    for (const replica of [a, b]) expect(await checker(replica.app.url)(secret)).toBe("allowed");
    expect(b.app.keyCache.cached(b.app.hasher.hash(secret))?.isActive).toBe(true);
    return { id: key!.id, secret };
  }

  const unusable = (cached: CachedKey) => !cached.isActive || cached.revoked;

  it("disables it by default: the next Check on A, and on B once the feed reached it, is denied", async () => {
    const { secret } = await keyCachedOnBoth("leaks by default");
    expect(await reportToA(secret)).toEqual([expect.objectContaining({ label: "true_positive" })]);
    expect(await checker(a.app.url)(secret)).toBe("API_KEY_DISABLED");
    await untilB(secret, unusable);
    expect(await checker(b.app.url)(secret)).toBe("API_KEY_DISABLED");
  });

  it("revokes it under leaked_key_action revoke, on both replicas", async () => {
    await a.client.updateOrganizationSettings({ leakedKeyAction: LeakedKeyAction.REVOKE });
    const { secret } = await keyCachedOnBoth("leaks under revoke");
    expect(await reportToA(secret)).toEqual([expect.objectContaining({ label: "true_positive" })]);
    expect(await checker(a.app.url)(secret)).toBe("API_KEY_REVOKED");
    await untilB(secret, unusable);
    expect(await checker(b.app.url)(secret)).toBe("API_KEY_REVOKED");
  });

  it("ends a leaked previous secret's grace on both replicas, and the current secret goes on working on both", async () => {
    const { id, secret: previous } = await keyCachedOnBoth("leaks after a rotation");
    const { secret: current } = await a.client.regenerateKey({ id, gracePeriodSeconds: 3_600 });
    const previousHash = b.app.hasher.hash(previous);
    // B takes the rotation (its entry of the key as it was goes), then caches the rotated key.
    await untilB(previous, (cached) => cached.previousHash === previousHash);
    for (const replica of [a, b]) expect(await checker(replica.app.url)(previous)).toBe("allowed");
    const grace = b.app.keyCache.cached(previousHash)!.previousExpiresAtMs;

    expect(await reportToA(previous)).toEqual([expect.objectContaining({ label: "true_positive" })]);
    expect(await checker(a.app.url)(previous)).toBe("API_KEY_INVALID");
    await untilB(previous, (cached) => cached.previousExpiresAtMs !== grace);
    expect(await checker(b.app.url)(previous)).toBe("API_KEY_INVALID");
    for (const replica of [a, b]) expect(await checker(replica.app.url)(current)).toBe("allowed");
  });
});
