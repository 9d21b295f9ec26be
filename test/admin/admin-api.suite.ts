import { describe, expect, it } from "vitest";
import type { ManualClock } from "../../src/time/clock.js";
import type { TestApp } from "../support/app.js";
import { describeAuditScopesAndLimits } from "./admin-api/audit-scopes-and-limits.js";
import { describeCallerAuthentication } from "./admin-api/caller-authentication.js";
import { describeCreateKey } from "./admin-api/create-key.js";
import { describeKeyLifecycle } from "./admin-api/key-lifecycle.js";
import { describeKeyLimits } from "./admin-api/key-limits.js";
import { describeListKeysFilters } from "./admin-api/list-keys-filters.js";
import { describeListKeysPagination } from "./admin-api/list-keys-pagination.js";
import { keyCreator } from "./admin-api/suite-app.js";
import { describeTestKeySpending } from "./admin-api/test-key-spending.js";
import { describeTenantIsolation } from "./admin-api/tenant-isolation.js";
import { describeUpdateKey } from "./admin-api/update-key.js";
import { failure } from "./answers.js";
import { appOnStore, type StoreMaker } from "./clients.js";

/**
 * The whole KeyAdminService key lifecycle through a real server and Connect client, on the
 * store `makeStore` gives. Run by one file per store so both pass the same behaviour.
 *
 * One app serves every part (one file per RPC or concern under admin-api/); each part takes it in
 * a beforeAll of its own, which vitest runs after appOnStore's, declared first.
 */
export function describeAdminApi(storeName: string, makeStore: StoreMaker) {
  describe(`KeyAdminService on the ${storeName} store`, () => {
    let t: TestApp;
    let clock: ManualClock;
    appOnStore(makeStore, (app, appClock) => {
      t = app;
      clock = appClock;
    });

    const suite = () => ({ t, clock });
    describeCreateKey(suite);
    describeCallerAuthentication(suite);
    describeUpdateKey(suite);
    describeKeyLifecycle(suite);
    describeTestKeySpending(suite);
    describeTenantIsolation(suite);
    describeListKeysPagination(suite);
    describeListKeysFilters(suite);
    describeKeyLimits(suite);
    describeAuditScopesAndLimits(suite);

    const createKey = keyCreator(() => t);

    it("never writes a secret to the log", async () => {
      const { key, secret } = await createKey();
      const rotated = await t.client.regenerateKey({ id: key!.id, gracePeriodSeconds: 10 });
      const wrong = "sk_live_" + rotated.secret.slice(8, -6) + "zzzzzz";
      await failure(t.clientFor(wrong).listKeys({}));
      await t.client.revokeKey({ id: key!.id });
      await failure(t.clientFor(rotated.secret).listKeys({}));
      await failure(t.clientFor(secret).listKeys({}));
      const log = t.logs.join("");
      expect(log).toContain('"method":"keygate.v1.KeyAdminService/CreateKey"');
      expect(log).toContain(`"callerKeyId":"${t.admin.key.id}"`);
      for (const s of [secret, rotated.secret, wrong, t.admin.secret]) expect(log).not.toContain(s.slice(12, 40));
    });
  });
}
