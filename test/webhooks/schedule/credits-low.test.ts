import { afterEach, describe, expect, it } from "vitest";
import { CheckService } from "../../../src/authz/check-service.js";
import type { IdentityRecord } from "../../../src/model/identities.js";
import { createHarness, envoyRequest, outcomeOf, type Harness } from "../../authz/check-harness.js";
import { schedulerWorld, type Replica } from "./scheduler-world.js";

/**
 * `key.credits_low` through Check as the embedded store counts (LocalLimits) on a ManualClock:
 * Check notes the balances it saw, the scheduler's pass judges them against the organization's
 * credits_low_threshold_percent and queues one event per balance and refill window.
 */

const DAY_MS = 86_400_000;
let world: ReturnType<typeof schedulerWorld>;

afterEach(async () => {
  await world.close();
});

interface Setup {
  h: Harness;
  replica: Replica;
  service: CheckService;
}

async function setup(threshold?: number, identity?: IdentityRecord): Promise<Setup> {
  const h = await createHarness(identity === undefined ? {} : { loadIdentity: async (_, id) => (id === identity.id ? identity : null) });
  world = schedulerWorld(h.clock.now(), { store: h.backing, clock: h.clock });
  await world.subscribe(h.organizationId);
  if (threshold !== undefined) await h.backing.organizations.updateSettings(h.organizationId, { creditsLowThresholdPercent: threshold });
  const replica = world.replica();
  return { h, replica, service: new CheckService({ ...h.deps, credits: replica.creditNotes }) };
}

async function checks({ service }: Setup, secret: string, count: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < count; i++) outcomes.push(outcomeOf(await service.check(envoyRequest({ "x-api-key": secret }))));
  return outcomes;
}

const lowEvents = ({ h }: Setup) => world.events(h.organizationId, "key.credits_low");

describe("key.credits_low", () => {
  it("is made once when a key's balance falls to the threshold, and again once the refill's balance does", async () => {
    const s = await setup(10);
    const { h, replica } = s;
    const refillAt = Date.UTC(2026, 0, 16);
    const { secret, key } = await h.createKey({ credits: { remaining: 100, refill: { amount: 50, interval: "daily", day: 0 }, setAt: new Date(h.clock.now()) } });

    expect(new Set(await checks(s, secret, 89))).toEqual(new Set(["allowed"]));
    await replica.scheduler.runOnce();
    expect(await lowEvents(s)).toEqual([]);

    await checks(s, secret, 1);
    await replica.scheduler.runOnce();
    const [event, ...more] = await lowEvents(s);
    expect(more).toEqual([]);
    expect(event!.data).toMatchObject({ key: { id: key.id, organization_id: h.organizationId }, credits: { owner: "key", left: 10, limit: 100, refills_at: new Date(refillAt).toISOString() } });
    expect(event!.data).not.toHaveProperty("identity_id");
    expect(JSON.stringify(event!.data)).not.toContain(key.secretHash);

    // Spent to nothing and denied: the same balance, told once.
    expect((await checks(s, secret, 12)).slice(-2)).toEqual(["CREDITS_EXHAUSTED", "CREDITS_EXHAUSTED"]);
    await replica.scheduler.runOnce();
    await replica.scheduler.runOnce();
    expect(await lowEvents(s)).toHaveLength(1);

    // The refill is a new balance (50), low again at 5 left.
    h.clock.set(refillAt + 1_000);
    await checks(s, secret, 44);
    await replica.scheduler.runOnce();
    expect(await lowEvents(s)).toHaveLength(1);
    await checks(s, secret, 1);
    await replica.scheduler.runOnce();
    await checks(s, secret, 3);
    await replica.scheduler.runOnce();
    const events = await lowEvents(s);
    expect(events).toHaveLength(2);
    expect(events[1]!.data).toMatchObject({ credits: { owner: "key", left: 5, limit: 50, refills_at: new Date(refillAt + DAY_MS).toISOString() } });
    expect(events[1]!.eventId).not.toBe(events[0]!.eventId);
  });

  it("is not made when the organization's threshold is 0", async () => {
    const s = await setup(0);
    const { secret } = await s.h.createKey({ credits: { remaining: 5, refill: null, setAt: new Date(s.h.clock.now()) } });
    expect((await checks(s, secret, 7)).at(-1)).toBe("CREDITS_EXHAUSTED");
    await s.replica.scheduler.runOnce();
    expect(await lowEvents(s)).toEqual([]);
  });

  it("tells of an identity's balance with its id, at the default threshold (10%)", async () => {
    const identityId = "idt_01JCREDITSLOW000000000000";
    const setAt = new Date(Date.UTC(2026, 0, 15, 12, 0, 0));
    const identity: IdentityRecord = {
      id: identityId,
      organizationId: "",
      externalId: "customer-1",
      name: "Customer 1",
      meta: {},
      limits: [],
      credits: { remaining: 20, refill: null, setAt },
      createdAt: setAt,
      updatedAt: setAt,
    };
    const s = await setup(undefined, identity);
    identity.organizationId = s.h.organizationId;
    const first = await s.h.createKey({ identityId });
    const second = await s.h.createKey({ identityId });
    await checks(s, first.secret, 10);
    await checks(s, second.secret, 7);
    await s.replica.scheduler.runOnce();
    expect(await lowEvents(s)).toEqual([]);
    await checks(s, second.secret, 1);
    await s.replica.scheduler.runOnce();
    await checks(s, first.secret, 2);
    await s.replica.scheduler.runOnce();
    const events = await lowEvents(s);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ key: { id: second.key.id }, identity_id: identityId, credits: { owner: "identity", left: 2, limit: 20, refills_at: null } });
  });

  it("judges a balance a response debit lowered at the key's next Check, denied or not", async () => {
    const s = await setup(10);
    const credits = { remaining: 100, refill: null, setAt: new Date(s.h.clock.now()) };
    const { secret, key } = await s.h.createKey({ credits });
    await s.h.limits.debitCredits({ id: key.id, organizationId: key.organizationId, credits }, null, 100);
    await s.replica.scheduler.runOnce();
    expect(await lowEvents(s)).toEqual([]);
    expect(await checks(s, secret, 1)).toEqual(["CREDITS_EXHAUSTED"]);
    await s.replica.scheduler.runOnce();
    expect((await lowEvents(s)).map((event) => event.data["credits"])).toEqual([{ owner: "key", left: 0, limit: 100, refills_at: null }]);
  });

  it("is judged again at the next pass when the store failed to queue it", async () => {
    const s = await setup(50);
    const { secret } = await s.h.createKey({ credits: { remaining: 2, refill: null, setAt: new Date(s.h.clock.now()) } });
    await checks(s, secret, 1);
    const enqueue = s.h.backing.webhooks.enqueue.bind(s.h.backing.webhooks);
    s.h.backing.webhooks.enqueue = () => Promise.reject(new Error("store away"));
    await expect(s.replica.scheduler.runOnce()).rejects.toThrow("store away");
    s.h.backing.webhooks.enqueue = enqueue;
    await s.replica.scheduler.runOnce();
    expect((await lowEvents(s)).map((event) => event.data["credits"])).toEqual([{ owner: "key", left: 1, limit: 2, refills_at: null }]);
  });
});
