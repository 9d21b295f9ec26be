import type { Page } from "playwright-core";
import { UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays, utcDay } from "../../src/time/utc-days.js";
import type { TestApp } from "../support/app.js";
import { aBatch, aDelta, aTally } from "../store/contract/usage.js";
import { openConsole, type ConsoleSession } from "./console-session.js";

/**
 * The usage and audit pages in Chromium at desktop (1366) and phone (390) width: the uPlot chart
 * under the console's CSP (no violation), its tooltip, no "0.0 ms" or "+0.0%" made up from
 * missing data, empty states that say what to do, and an audit log that fits the page, names
 * keys and users, and filters by action, actor and day. Screenshots go to test-output/console/.
 */

const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

let session: ConsoleSession;
let t: TestApp;
let page: Page;

beforeAll(async () => {
  session = await openConsole({ shotPrefix: "usage-audit-" });
  ({ t, page } = session);
  // Besides the console messages console-session collects, the page's own report of a violation.
  await page.addInitScript(
    "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
  );
  await page.setViewportSize(DESKTOP);
  await page.goto(`${t.app.url}/console/`);
  await page.getByLabel("Admin API key").fill(t.admin.secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "API keys" }).waitFor();
}, 900_000);

afterAll(async () => {
  await session?.close();
});

const inPage = <T>(expression: string) => session.inPage<T>(expression);

async function open(route: string): Promise<void> {
  await page.goto(`${t.app.url}/console/#/${route}`);
  await page.locator("main h1").waitFor();
  await page.locator("main [aria-busy]").first().waitFor({ state: "detached" });
}

/** Nothing on the page is wider than the window. */
async function expectNoPageOverflow(width: number): Promise<void> {
  expect(await inPage<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(width);
}

/** Requests and denials of the admin key on `daysAgo` days before today, written as a flush would. */
async function usageOn(daysAgo: readonly number[]): Promise<void> {
  const today = utcDay(t.clock.now());
  const entries = daysAgo.map((ago) =>
    aDelta(t.admin.organization.id, t.admin.key.id, addDays(today, -ago), aTally({ outcomes: { allowed: 40 + ((ago * 7) % 25), IP_NOT_ALLOWED: ago % 4 } })),
  );
  await t.store.usage.apply(aBatch(...entries));
}

async function expectNoCspViolation(): Promise<void> {
  expect(await inPage<string[]>("window.cspViolations")).toEqual([]);
  expect(session.pageErrors).toEqual([]);
}

describe("usage and audit in the console", () => {
  it("says what to do when there are no requests yet", async () => {
    await open("usage");
    const empty = page.getByTestId("usage-empty");
    await empty.getByText("No requests in this period.").waitFor();
    expect(await empty.getByRole("link", { name: "Create a key" }).getAttribute("href")).toBe("#/keys");
    await page.getByText("No key made a request in this period").waitFor();
    expect(await page.locator(".chart-plot").count()).toBe(0);
    await expectNoPageOverflow(DESKTOP.width);
    await session.shot("01-usage-empty-desktop");
    await page.setViewportSize(PHONE);
    await expectNoPageOverflow(PHONE.width);
    await session.shot("02-usage-empty-phone");
    await page.setViewportSize(DESKTOP);

    await open("billing");
    await page.getByText("No key made a request in this month.").waitFor();
  }, 60_000);

  it("shows growth from nothing as new and no response time without an access log", async () => {
    await usageOn([0, 1, 2, 3, 4, 5, 6]);
    await open("usage");
    await page.getByTestId("growth").waitFor();
    expect(await page.getByTestId("growth").textContent()).toBe("new");
    await page.getByText("none in the previous period").waitFor();
    expect(await page.getByTestId("avg-response").textContent()).toBe("—");
    const why = page.getByTestId("no-response-times");
    expect(await why.textContent()).toContain("No access-log data");
    expect(await why.getByRole("link", { name: "configure Envoy's access-log service" }).getAttribute("href")).toMatch(/^https:\/\/www\.envoyproxy\.io\/.*access_loggers/);
    expect(await page.locator("main").textContent()).not.toMatch(/0\.0 ms|\+0\.0%/);
  }, 60_000);

  it("draws the daily chart with uPlot under the CSP, with a tooltip, at desktop and phone width", async () => {
    await usageOn([...Array(23).keys()].map((i) => i + 7));
    await open("usage");
    await page.getByLabel("Period").selectOption({ label: "Last 30 days" });
    await page.getByRole("img", { name: /over 30 days/ }).waitFor();
    // Nothing in the 30 days before these.
    expect(await page.getByTestId("growth").textContent()).toBe("new");

    for (const [viewport, name] of [
      [DESKTOP, "03-usage-chart-desktop"],
      [PHONE, "04-usage-chart-phone"],
    ] as const) {
      await page.setViewportSize(viewport);
      const plot = page.locator(".chart-plot");
      const canvas = plot.locator("canvas");
      // uPlot redraws to the new width.
      await expect
        .poll(async () => Math.round((await canvas.boundingBox())!.width) - Math.round((await plot.boundingBox())!.width))
        .toBe(0);
      expect((await canvas.boundingBox())!.x + (await canvas.boundingBox())!.width).toBeLessThanOrEqual(viewport.width);
      await expectNoPageOverflow(viewport.width);

      const over = plot.locator(".u-over");
      await over.scrollIntoViewIfNeeded();
      const box = (await over.boundingBox())!;
      // The day at the far right is today, with 40 allowed and 0 denied.
      await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
      const tip = page.getByTestId("chart-tip");
      await tip.waitFor();
      expect(await tip.textContent()).toContain(`${utcDay(t.clock.now())}40 requests0 errors`);
      const tipBox = (await tip.boundingBox())!;
      expect(tipBox.x).toBeGreaterThanOrEqual(box.x);
      expect(tipBox.x + tipBox.width).toBeLessThanOrEqual(box.x + box.width);
      await session.shot(name);
      await page.mouse.move(0, 0);
      await tip.waitFor({ state: "hidden" });
    }
    await page.setViewportSize(DESKTOP);

    // The same numbers as a table, for screen readers and copying.
    await page.getByText("Show the numbers").click();
    await page.getByRole("cell", { name: addDays(utcDay(t.clock.now()), -29) }).waitFor();

    // The week before this one had requests: a real growth, signed.
    await page.getByLabel("Period").selectOption({ label: "Last 7 days" });
    await expect.poll(() => page.getByTestId("growth").textContent()).toMatch(/^[+-]\d+\.\d%$/);
    await expectNoCspViolation();
  }, 90_000);

  it("fits the audit log in the page, names keys and users, and filters by action, actor and day", async () => {
    const { user: grace } = await t.client.addUser({ name: "Grace Hopper", role: UserRole.ADMIN });
    const graceAdmin = await t.client.createKey({ name: "grace admin", scopes: ["admin:read", "admin:write", "machines:read"], ownerUserId: grace!.id });
    const asGrace = t.clientFor(graceAdmin.secret);
    const made = await asGrace.createKey({ name: "reporting job", scopes: ["machines:read"] });
    await asGrace.revokeKey({ id: made.key!.id, reason: "replaced by the nightly export, which reads the machines table directly" });
    const temporary = await t.client.createKey({ name: "temporary", scopes: ["machines:read"] });
    await t.client.deleteKey({ id: temporary.key!.id });

    await open("audit");
    const log = page.locator(".audit-log");
    const revoked = log.getByRole("row").filter({ hasText: "revoked" });
    await revoked.first().waitFor();
    // Names first, ids under them; a deleted key keeps its id.
    await revoked.getByRole("link", { name: "reporting job" }).waitFor();
    expect(await revoked.locator(".raw-id").first().textContent()).toBe(made.key!.id);
    const doneBy = revoked.getByRole("cell").nth(3);
    expect(await doneBy.textContent()).toBe("Grace Hopperwith key grace admin");
    expect(await doneBy.getByText("Grace Hopper").getAttribute("title")).toBe(grace!.id);
    expect(await doneBy.getByRole("link", { name: "grace admin" }).getAttribute("title")).toBe(graceAdmin.key!.id);
    const deleted = log.getByRole("row").filter({ hasText: "deleted" });
    expect(await deleted.getByRole("cell").nth(2).textContent()).toBe(temporary.key!.id);
    expect(await deleted.getByRole("link").count()).toBe(1); // the actor's key only: the deleted key has no page

    // Not cut off at 1366: the table needs no scrolling of its own.
    const fits = "(() => { const w = document.querySelector('.audit-log .table-wrap'); return w.scrollWidth <= w.clientWidth; })()";
    expect(await inPage<boolean>(fits)).toBe(true);
    await expectNoPageOverflow(DESKTOP.width);
    await session.shot("05-audit-desktop");

    const filters = page.getByRole("form", { name: "Filter the audit log" });
    const actions = () => log.locator("tbody .action").allTextContents();
    await filters.getByLabel("Action").selectOption("key.revoke");
    await filters.getByRole("button", { name: "Filter", exact: true }).click();
    await expect.poll(actions).toEqual(["revoked"]);

    await filters.getByLabel("Action").selectOption("");
    await filters.getByLabel("Done by").selectOption({ label: "Grace Hopper" });
    await filters.getByRole("button", { name: "Filter", exact: true }).click();
    await expect.poll(actions).toEqual(["revoked", "created"]);

    const tomorrow = addDays(utcDay(t.clock.now()), 1);
    await filters.getByLabel("Done by").selectOption("");
    await filters.getByLabel("From (UTC)").fill(tomorrow);
    await filters.getByRole("button", { name: "Filter", exact: true }).click();
    await log.getByText("No event matches these filters.").waitFor();
    await session.shot("06-audit-filtered-empty");

    await filters.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(async () => (await actions()).length).toBeGreaterThanOrEqual(6);

    // On a phone each event is a card as wide as the screen: nothing to scroll sideways.
    await page.setViewportSize(PHONE);
    await expectNoPageOverflow(PHONE.width);
    expect(await inPage<boolean>(fits)).toBe(true);
    await revoked.getByText("Grace Hopper").waitFor();
    await session.shot("07-audit-phone");
    await page.setViewportSize(DESKTOP);
    await expectNoCspViolation();
  }, 90_000);
});
