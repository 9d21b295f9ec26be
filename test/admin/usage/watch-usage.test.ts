import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RateLimitPeriod, type WatchUsageResponse } from "../../../gen/keygate/v1/key_admin_pb.js";
import { ManualClock } from "../../../src/time/clock.js";
import { envoyRequest, outcomeOf } from "../../authz/check-harness.js";
import { envoyClient, type EnvoyClient } from "../../authz/envoy-client.js";
import { startTestApp, type TestApp } from "../../support/app.js";
import { settled, watchIntervalsFromNow } from "./watch-usage-leaks.js";

/**
 * WatchUsage through a real server, read by a Connect client over HTTP/1.1 with JSON (what a
 * browser uses): a snapshot first, then one event per flush that wrote usage in scope, and
 * nothing left behind (flush listeners, timers) once the client goes away.
 */

const NOON = Date.UTC(2031, 2, 15, 12);

const counters = (event: WatchUsageResponse | undefined) => ({
  sinceLast: { ...event?.sinceLast, $typeName: undefined },
  today: { ...event?.today, $typeName: undefined },
});
const counts = (allowed: number, denied: number, rateLimited: number) => ({
  allowed: BigInt(allowed),
  denied: BigInt(denied),
  rateLimited: BigInt(rateLimited),
  $typeName: undefined,
});

describe("WatchUsage", () => {
  let t: TestApp | undefined;
  let envoy: EnvoyClient | undefined;

  afterEach(async () => {
    vi.restoreAllMocks();
    envoy?.close();
    await t?.close();
    t = undefined;
  });

  async function start(env: Record<string, string> = {}) {
    t = await startTestApp({
      clock: new ManualClock(NOON),
      // Only the test flushes, so each flush is one event.
      env: { LOG_LEVEL: "silent", KEYGATE_USAGE_FLUSH_INTERVAL_MS: "3600000", KEYGATE_SHUTDOWN_TIMEOUT_MS: "500", ...env },
    });
    envoy = envoyClient(new URL(t.app.url).host);
    const created = async (name: string, fields: object = {}) => {
      const { key, secret } = await t!.client.createKey({ name, scopes: ["machines:read"], ...fields });
      return { id: key!.id, secret };
    };
    return { t, created };
  }

  async function check(secret: string, path = "/v1/machines/1"): Promise<string> {
    return outcomeOf(await envoy!.check(envoyRequest({ "x-api-key": secret }, { path })));
  }

  it("streams a snapshot, then what each flush wrote, for the organization or one key; and ends cleanly when the client goes away", async () => {
    const { t, created } = await start();
    const a = await created("alpha");
    const b = await created("bravo", { rateLimit: 1, rateLimitPeriod: RateLimitPeriod.MINUTE });
    expect(await check(a.secret)).toBe("allowed");
    await t.app.usage.recorder.flush();
    const timers = watchIntervalsFromNow();
    const state = () => ({ listeners: t.app.usage.recorder.listenerCount, timers: timers() });
    const baseline = state();

    const organization = new AbortController();
    const orgEvents = t.client.watchUsage({}, { signal: organization.signal })[Symbol.asyncIterator]();
    const oneKey = new AbortController();
    const keyEvents = t.client.watchUsage({ keyId: b.id }, { signal: oneKey.signal })[Symbol.asyncIterator]();

    const orgSnapshot = (await orgEvents.next()).value as WatchUsageResponse;
    expect(orgSnapshot.keyId).toBe("");
    expect(counters(orgSnapshot)).toEqual({ sinceLast: counts(0, 0, 0), today: counts(1, 0, 0) });
    expect(orgSnapshot.observedAt?.seconds).toBe(BigInt(NOON / 1000));
    const keySnapshot = (await keyEvents.next()).value as WatchUsageResponse;
    expect(keySnapshot.keyId).toBe(b.id);
    expect(counters(keySnapshot)).toEqual({ sinceLast: counts(0, 0, 0), today: counts(0, 0, 0) });
    expect(t.app.usage.recorder.listenerCount).toBe(baseline.listeners + 2);
    expect(timers()).toBe(baseline.timers + 2); // the two streams' heartbeats

    expect([await check(a.secret, "/v1/machines/2"), await check(b.secret, "/v1/machines/3"), await check(b.secret)]).toEqual([
      "allowed",
      "allowed",
      "RATE_LIMITED",
    ]);
    await t.app.usage.recorder.flush();
    const orgEvent = (await orgEvents.next()).value as WatchUsageResponse;
    expect(counters(orgEvent)).toEqual({ sinceLast: counts(2, 1, 1), today: counts(3, 1, 1) });
    expect(orgEvent.endpoints.map((e) => [e.method, e.path, e.count])).toEqual([["GET", "/v1/machines/{id}", 3n]]);
    const keyEvent = (await keyEvents.next()).value as WatchUsageResponse;
    expect(counters(keyEvent)).toEqual({ sinceLast: counts(1, 1, 1), today: counts(1, 1, 1) });

    // Usage of another key reaches the organization's stream only.
    expect(await check(a.secret)).toBe("allowed");
    await t.app.usage.recorder.flush();
    expect(counters((await orgEvents.next()).value)).toEqual({ sinceLast: counts(1, 0, 0), today: counts(4, 1, 1) });

    organization.abort();
    oneKey.abort();
    await expect(orgEvents.next()).rejects.toThrow();
    expect(await settled(state, baseline)).toEqual(baseline);
  });

  it("sends a snapshot every heartbeat while idle, and stops the heartbeat with the stream", async () => {
    const { t, created } = await start({ KEYGATE_USAGE_WATCH_HEARTBEAT_MS: "40" });
    const a = await created("alpha");
    const listenersBefore = t.app.usage.recorder.listenerCount;
    const timers = watchIntervalsFromNow();
    const controller = new AbortController();
    const events = t.client.watchUsage({ keyId: a.id }, { signal: controller.signal })[Symbol.asyncIterator]();
    await events.next();
    expect(await check(a.secret)).toBe("allowed");
    await t.app.usage.recorder.flush();
    // Heartbeats may come first; the flush's event follows.
    let event = counters((await events.next()).value);
    while (event.sinceLast.allowed === 0n) event = counters((await events.next()).value);
    expect(event).toEqual({ sinceLast: counts(1, 0, 0), today: counts(1, 0, 0) });
    // Nothing recorded since: heartbeats carry today's totals and nothing since the last event.
    for (let i = 0; i < 2; i++) expect(counters((await events.next()).value)).toEqual({ sinceLast: counts(0, 0, 0), today: counts(1, 0, 0) });
    expect(timers()).toBe(1);
    controller.abort();
    const state = () => ({ listeners: t.app.usage.recorder.listenerCount, timers: timers() });
    const after = { listeners: listenersBefore, timers: 0 };
    expect(await settled(state, after)).toEqual(after);
  });

  it("ends open streams normally when the server shuts down, instead of holding the shutdown", async () => {
    const { t } = await start({ KEYGATE_SHUTDOWN_TIMEOUT_MS: "10000" });
    const listenersBefore = t.app.usage.recorder.listenerCount;
    const events = t.client.watchUsage({})[Symbol.asyncIterator]();
    await events.next();
    const started = Date.now();
    const ended = events.next().then((result) => ({ result, afterMs: Date.now() - started }));
    const closing = t.close();
    const { result, afterMs } = await ended;
    expect(result).toEqual({ done: true, value: undefined });
    expect(afterMs).toBeLessThan(1_000);
    expect(t.app.usage.recorder.listenerCount).toBe(listenersBefore);
    await closing;
  });

  it("refuses another organization's key or an unknown one as not found", async () => {
    const { t } = await start();
    const listenersBefore = t.app.usage.recorder.listenerCount;
    const other = await t.anotherOrganization();
    for (const keyId of [other.key.id, "key_unknown"]) {
      const events = t.client.watchUsage({ keyId })[Symbol.asyncIterator]();
      const error = await events.next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.NotFound);
    }
    expect(t.app.usage.recorder.listenerCount).toBe(listenersBefore);
  });

  describe("bounds", () => {
    type Events = AsyncIterator<WatchUsageResponse>;
    const opened: AbortController[] = [];
    afterEach(() => {
      for (const controller of opened.splice(0)) controller.abort();
    });

    /** Opens a stream and reads its snapshot; the error when it is refused. */
    async function open(client: TestApp["client"], keyId = ""): Promise<{ events: Events; stop: AbortController } | ConnectError> {
      const stop = new AbortController();
      opened.push(stop);
      const events = client.watchUsage({ keyId }, { signal: stop.signal })[Symbol.asyncIterator]();
      try {
        await events.next();
        return { events, stop };
      } catch (error) {
        return ConnectError.from(error);
      }
    }

    const refusal = (error: ConnectError) => ({
      code: error.code,
      reason: error.findDetails(ErrorInfoSchema)[0]?.reason,
      metadata: error.findDetails(ErrorInfoSchema)[0]?.metadata,
    });

    it("a caller key gets 10 streams; the 11th is refused resource_exhausted naming the limit; a closed stream frees its place", async () => {
      const { t } = await start();
      const streams = [];
      for (let i = 0; i < 10; i++) streams.push(await open(t.client));
      expect(streams.every((s) => !(s instanceof ConnectError))).toBe(true);
      const eleventh = await open(t.client);
      expect(eleventh).toBeInstanceOf(ConnectError);
      expect(refusal(eleventh as ConnectError)).toEqual({
        code: Code.ResourceExhausted,
        reason: "API_KEY_LIMIT_EXCEEDED",
        metadata: { limit: "usage_watch_streams_per_key", max: "10" },
      });
      expect((eleventh as ConnectError).rawMessage).toContain("KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_KEY");
      // Another key of the organization has its own 10.
      const { secret } = await t.client.createKey({ name: "dashboard", scopes: ["admin:read"] });
      expect(await open(t.clientFor(secret))).not.toBeInstanceOf(ConnectError);

      (streams[0] as { stop: AbortController }).stop.abort();
      const reopened = await settled(async () => !((await open(t.client)) instanceof ConnectError), true);
      expect(reopened).toBe(true);
    });

    it("an organization gets KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION streams over all its keys; others are not affected", async () => {
      const { t } = await start({ KEYGATE_USAGE_WATCH_MAX_STREAMS_PER_ORGANIZATION: "3" });
      const { secret } = await t.client.createKey({ name: "dashboard", scopes: ["admin:read"] });
      expect(await open(t.client)).not.toBeInstanceOf(ConnectError);
      expect(await open(t.client)).not.toBeInstanceOf(ConnectError);
      expect(await open(t.clientFor(secret))).not.toBeInstanceOf(ConnectError);
      const fourth = await open(t.clientFor(secret));
      expect(refusal(fourth as ConnectError)).toEqual({
        code: Code.ResourceExhausted,
        reason: "API_KEY_LIMIT_EXCEEDED",
        metadata: { limit: "usage_watch_streams_per_organization", max: "3" },
      });
      const other = await t.anotherOrganization();
      expect(await open(t.clientFor(other.secret))).not.toBeInstanceOf(ConnectError);
    });

    it("streams watching the same scope share one store query per flush", async () => {
      const { t, created } = await start();
      const a = await created("alpha");
      const spy = vi.spyOn(t.store.usage, "days");
      // Today's totals, as WatchUsage reads them (Check reads the month for the quota).
      const days = () => spy.mock.calls.filter(([, range]) => range.from === range.to);
      const organization = [];
      const oneKey = [];
      for (let i = 0; i < 5; i++) organization.push((await open(t.client)) as { events: Events });
      for (let i = 0; i < 3; i++) oneKey.push((await open(t.client, a.id)) as { events: Events });
      expect(days().length).toBeLessThanOrEqual(2); // the snapshots: one per scope

      spy.mockClear();
      expect(await check(a.secret)).toBe("allowed");
      await t.app.usage.recorder.flush();
      for (const { events } of [...organization, ...oneKey]) {
        expect(counters((await events.next()).value)).toMatchObject({ sinceLast: counts(1, 0, 0), today: counts(1, 0, 0) });
      }
      expect(days().map(([, , query]) => query?.keyIds)).toEqual(expect.arrayContaining([undefined, [a.id]]));
      expect(days()).toHaveLength(2); // one for the organization's streams, one for the key's
    });
  });
});
