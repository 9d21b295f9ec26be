import type { ManualClock } from "../../../src/time/clock.js";
import type { TestApp } from "../../support/app.js";

/** What the parts of the KeyAdminService suite (test/admin/admin-api.suite.ts) share. */

/** The app the suite started on its store, and the app's clock. */
export interface SuiteApp {
  t: TestApp;
  clock: ManualClock;
}

export const HOUR = 3_600_000;

/** CreateKey with the name and scope a test does not care about, through the suite's admin client or `client`. */
export const keyCreator =
  (t: () => TestApp) =>
  (fields: Record<string, unknown> = {}, client = t().client) =>
    client.createKey({ name: "ci deploy", scopes: ["machines:read"], ...fields });
