import { describe, expect, it } from "vitest";
import type { BudgetSpec } from "../../src/limits/leased-budgets.js";
import { replicaAnsweredByHand, turn } from "./answered-by-hand.js";

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

  it("keep the units an earlier answer brought them while they wait for a later one", async () => {
    const replica = replicaAnsweredByHand(T);
    const key: BudgetSpec = { bucket: "key/k2/hour", unit: "hour", limit: 100_000 };
    // The organization's minute has a prefetch in the air when the key's first Check comes.
    const [opening] = replica.look([ORGANIZATION_MINUTE], 1);
    await replica.leases.answer(T, T);
    expect(await replica.decide([ORGANIZATION_MINUTE], opening!)).toMatchObject({ admitted: true });
    await turn();
    const [first] = replica.look([key, ORGANIZATION_MINUTE], 1);
    const waiting = replica.decide([key, ORGANIZATION_MINUTE], first!);
    // The prefetch is answered, then the key's ask (a unit for the waiting Check); the
    // organization's next ask, which the Check also waits for, is still to come.
    await replica.leases.answer(T + 1, T + 2);
    await replica.leases.answer(T + 3, T + 4);
    // Meanwhile another Check of the key arrives: it must not take the waiting Check's unit.
    const [second] = replica.look([key], 1);
    const later = replica.decide([key], second!);
    await replica.leases.answerAll();
    expect(await waiting).toMatchObject({ admitted: true });
    expect(await later).toMatchObject({ admitted: true });
    await replica.close();
  });
});
