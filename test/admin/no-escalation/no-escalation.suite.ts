import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { Client } from "@connectrpc/connect";
import type { KeyAdminService } from "../../../gen/keygate/v1/key_admin_pb.js";
import { SecretEncryption } from "../../../src/crypto/secret-encryption.js";
import type { Store } from "../../../src/store/store.js";
import { ManualClock } from "../../../src/time/clock.js";
import { startTestApp, type TestApp } from "../../support/app.js";
import { ATTACKS, commandArbitrary } from "./commands.js";
import { runSequence } from "./sequence.js";
import { newWorld } from "./world.js";

export interface PropertyBudget {
  /** Sequences tried. */
  numRuns: number;
  /** Longest sequence of commands. */
  maxCommands: number;
  /**
   * Report the first failing sequence as found, without shrinking it: for the slow store, where
   * a failure also shows on the fast one (and shrinks there) and shrinking could outrun the timeout.
   */
  endOnFailure: boolean;
  /** Per test, generous for a busy CI machine. */
  timeoutMs: number;
}

/**
 * The property of issue 12: no sequence of admin calls, by any principal through any secret it
 * holds, escalates. One server per file; each sequence gets fresh organizations on it.
 */
export function describeNoEscalation(storeName: string, makeStore: () => Promise<{ store: Store; cleanup(): Promise<void> }>, budget: PropertyBudget) {
  describe(`no sequence of admin calls escalates, on the ${storeName} store`, () => {
    let t: TestApp;
    let cleanup: () => Promise<void>;
    const clock = new ManualClock(Date.now());
    const clients = new Map<string, Client<typeof KeyAdminService>>();
    const encryptionKey = randomBytes(32);
    const world = () => newWorld(t, clock, new SecretEncryption(encryptionKey), clients);

    beforeAll(async () => {
      const made = await makeStore();
      cleanup = made.cleanup;
      t = await startTestApp({
        store: made.store,
        clock,
        closeStore: false,
        env: {
          // Recoverable keys, so that show_key_value is among the calls.
          KEYGATE_ENCRYPTION_KEY: encryptionKey.toString("base64"),
          // Sequences fail authentication on purpose and call often; no throttle may answer for the policy.
          KEYGATE_FAILED_KEY_ATTEMPTS_PER_MINUTE: "0",
          KEYGATE_ADMIN_REQUESTS_PER_MINUTE: "0",
        },
      });
    });

    afterAll(async () => {
      await t?.close();
      await cleanup?.();
    });

    for (const attack of ATTACKS) {
      it(`stops ${attack.name}`, async () => {
        await runSequence(await world(), attack.commands);
      }, budget.timeoutMs);
    }

    it("holds for random sequences by every principal", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(commandArbitrary, { minLength: 1, maxLength: budget.maxCommands, size: "max" }), async (commands) => {
          await runSequence(await world(), commands);
        }),
        { numRuns: budget.numRuns, endOnFailure: budget.endOnFailure },
      );
    }, budget.timeoutMs);
  });
}
