import { describe, expect, it } from "vitest";
import type { BudgetSpec } from "../../src/limits/leased-budgets.js";
import { replicaAnsweredByHand } from "./answered-by-hand.js";

/**
 * Checks that wait together for one bucket come back for a unit of every other bucket of theirs.
 * A bucket with a few units and a limit far away must not deny them for want of a unit it never
 * asked for: its units are kept for the waiting Checks, and when they do not last them all, it is
 * asked too, in the same ask. (Seen on a real MongoDB: Checks of a burst on a key whose
 * organization's bucket needed an ask were denied RATE_LIMITED, the key far from its limit.)
 */
const T = 3_600_000;
const KEY: BudgetSpec = { bucket: "key/k/hour", unit: "hour", limit: 100_000 };
const ORGANIZATION_MINUTE: BudgetSpec = { bucket: "org/o/minute", unit: "minute", limit: 100_000 };
const SPECS = [KEY, ORGANIZATION_MINUTE];

describe("Checks waiting together for one bucket", () => {
  it("are all admitted by a bucket that held fewer units than they are", async () => {
    const replica = replicaAnsweredByHand(T);
    const opening = replica.look(SPECS, 1);
    await replica.leases.answerAll();
    expect(await replica.decide(SPECS, opening[0]!)).toMatchObject({ admitted: true });
    // The prefetch it caused is answered: the key's hour holds a unit or two, unused.
    await replica.leases.answerAll();

    // The next minute: the organization's bucket needs an ask; the key's hour does not, at first look.
    replica.clock.set(T + 60_000);
    const looks = replica.look(SPECS, 6);
    const decisions = Promise.all(looks.map((taken) => replica.decide(SPECS, taken)));
    await replica.leases.answerAll();
    expect((await decisions).map((taken) => ("admitted" in taken ? taken.admitted : "waits"))).toEqual(Array(6).fill(true));
    await replica.close();
  });
});
