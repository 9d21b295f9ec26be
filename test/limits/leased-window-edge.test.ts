import { describe, expect, it } from "vitest";
import type { BudgetSpec, Taken } from "../../src/limits/leased-budgets.js";
import { replicaAnsweredByHand, turn } from "./answered-by-hand.js";

/**
 * A Check at the very end of a window. A replica's estimate of the store's clock errs early (by up
 * to the last ask's trip to the store), so for a moment it counts a window as over that the store
 * still holds open: a Check then asks, the store answers for the old window, and by the replica's
 * clock that window is over. Or the Check waits for one bucket while another's window ends. Such
 * a Check must not be denied for want of a window (seen on a real MongoDB: one Check in ~70 of a
 * steady 90% load was RATE_LIMITED at a second's edge); it waits for one more ask, of the next
 * windows, and no more. A slice is never used past its window, however late the decision.
 */
const SPEC: BudgetSpec = { bucket: "key/k/second", unit: "second", limit: 1 };
const WINDOW_START = 10_000;
const WINDOW_END = 11_000;

/** One Check at `atMs`, the asks it causes answered in turn by `answers` (as many as are sent). */
async function checkAt(replica: ReturnType<typeof replicaAnsweredByHand>, atMs: number, answers: { storeNowMs: number; repliedAtMs: number }[]): Promise<Taken> {
  replica.clock.set(atMs);
  const [taken] = replica.look([SPEC], 1);
  let settled = false;
  if ("waitFor" in taken!) void taken.waitFor.then(() => (settled = true));
  for (const { storeNowMs, repliedAtMs } of answers) {
    if (settled) break;
    await replica.leases.answer(storeNowMs, repliedAtMs);
    await turn();
  }
  return replica.decide([SPEC], taken!);
}

describe("a Check at a window's edge", () => {
  it("whose ask the store answers for the window just ending waits for the next window instead of being denied", async () => {
    const replica = replicaAnsweredByHand(WINDOW_START);
    // The first ask reaches the store 8 ms after it was sent: the replica's estimate runs 8 ms early.
    expect(await checkAt(replica, WINDOW_START, [{ storeNowMs: WINDOW_START + 8, repliedAtMs: WINDOW_START + 10 }])).toMatchObject({ admitted: true });
    // 5 ms before the end, by the store's clock, the replica counts the window as over; this ask
    // reaches the store at once, still in the old window (used up), and is answered after the end.
    const edge = await checkAt(replica, WINDOW_END - 5, [
      { storeNowMs: WINDOW_END - 4, repliedAtMs: WINDOW_END + 2 },
      { storeNowMs: WINDOW_END + 3, repliedAtMs: WINDOW_END + 4 },
    ]);
    expect(edge).toMatchObject({ admitted: true });
    await replica.close();
  });

  it("waits for one more ask at most, even if the store still answers for the old window", async () => {
    const replica = replicaAnsweredByHand(WINDOW_START);
    expect(await checkAt(replica, WINDOW_START, [{ storeNowMs: WINDOW_START + 8, repliedAtMs: WINDOW_START + 10 }])).toMatchObject({ admitted: true });
    const edge = await checkAt(replica, WINDOW_END - 5, [
      { storeNowMs: WINDOW_END - 4, repliedAtMs: WINDOW_END + 2 },
      // A store whose clock stands still: the Check decides now, denied, rather than wait on.
      { storeNowMs: WINDOW_END - 4, repliedAtMs: WINDOW_END + 4 },
    ]);
    expect(edge).toMatchObject({ admitted: false });
    await replica.close();
  });

  it("waiting for one bucket while another's window ends, it waits for that bucket's next window too", async () => {
    const MINUTE_END = 60_000 * Math.ceil(WINDOW_END / 60_000);
    const minute: BudgetSpec = { bucket: "org/o/minute", unit: "minute", limit: 1_000 };
    const second: BudgetSpec = { bucket: "key/k/second", unit: "second", limit: 1_000 };
    const replica = replicaAnsweredByHand(MINUTE_END - 30_000);
    // Another key of the organization leaves its minute with units to spare.
    const opening = replica.look([minute], 3);
    await replica.leases.answerAll();
    for (const taken of opening) expect(await replica.decide([minute], taken)).toMatchObject({ admitted: true });
    await replica.leases.answerAll();

    // This key's first Check, 10 ms before the minute ends: it asks for its second; the minute
    // ends while it waits.
    replica.clock.set(MINUTE_END - 10);
    const [taken] = replica.look([second, minute], 1);
    await replica.leases.answer(MINUTE_END - 9, MINUTE_END + 5);
    // As Check does: a second look may wait once more, for the bucket that changed meanwhile.
    const again = replica.budgets.take([second, minute], replica.clock.now(), Infinity);
    expect("waitFor" in again).toBe(true);
    await replica.leases.answer(MINUTE_END + 6, MINUTE_END + 7);
    expect(await replica.decide([second, minute], again)).toMatchObject({ admitted: true });
    await replica.close();
  });
});
