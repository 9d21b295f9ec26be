import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeakedKeyAction, UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../support/app.js";
import { openConsole, type ConsoleSession } from "./console-session.js";

/**
 * The console's Settings page in a real browser (Debian's Chromium via playwright-core) against
 * a real keygate, under the console's CSP: the owner reads the defaults and changes two settings
 * and what a leaked key gets (only those are sent); a value that is not a number stays in the page, one out of bounds is
 * shown at its field; an admin changes a notification setting but is refused the maximum key
 * lifetime and the leaked-key action, and sees why at that field; phone width. Screenshots go to
 * test-output/console/.
 */

let session: ConsoleSession;
let t: TestApp;
let page: Page;
let pageErrors: string[];
let adminSecret: string;
/** The bodies of every UpdateOrganizationSettings call the page made. */
const updates: unknown[] = [];

beforeAll(async () => {
  session = await openConsole({ shotPrefix: "settings-" });
  ({ t, page, pageErrors } = session);
  // t.admin's key is the owner's; an admin user acts through a key of their own.
  const { user } = await t.client.addUser({ name: "an admin", role: UserRole.ADMIN });
  adminSecret = (await t.client.createKey({ name: "an admin key", scopes: ["admin:read", "admin:write"], ownerUserId: user!.id })).secret;
  page.on("request", (request) => {
    if (request.url().endsWith("/UpdateOrganizationSettings")) updates.push(request.postDataJSON());
  });
}, 900_000);

afterAll(async () => {
  await session?.close();
});

const shot = (name: string) => session.shot(name);
const inPage = <T>(expression: string) => session.inPage<T>(expression);
const stored = async () => (await t.client.getOrganizationSettings({})).settings!;
const expiry = () => page.getByLabel("Expiry warning (days)");
const thresholds = () => page.getByLabel("Quota alert thresholds (%)");
const lifetime = () => page.getByLabel("Maximum key lifetime (days)");
const unused = () => page.getByLabel("Disable keys unused for (days)");
const leaked = () => page.getByLabel("When a key is reported leaked");
const creditsLow = () => page.getByLabel("Credits low alert (%)");
const save = () => page.getByRole("button", { name: "Save changes" });

async function signIn(secret: string): Promise<void> {
  await page.getByLabel("Admin API key").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Settings", level: 1 }).waitFor();
  await save().waitFor();
}

describe("the console's Settings page in Chromium", () => {
  it("reads the settings, changes only what was edited, and shows the server's refusals at the setting", async () => {
    await page.goto(`${t.app.url}/console/#/settings`);
    await signIn(t.admin.secret);
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).getAttribute("aria-current")).toBe("page");

    // The defaults, each with what it means.
    expect(await expiry().inputValue()).toBe("7");
    expect(await thresholds().inputValue()).toBe("80, 100");
    expect(await lifetime().inputValue()).toBe("0");
    expect(await unused().inputValue()).toBe("0");
    expect(await creditsLow().inputValue()).toBe("10");
    await page.getByText("0: no maximum (the default)").waitFor();
    await page.getByText("only owners change them").waitFor();
    await shot("01-defaults");

    // Saved without an edit: nothing is sent.
    await save().click();
    await page.getByText("Nothing to save: no setting changed.").waitFor();
    expect(updates).toEqual([]);

    // The owner changes two settings: only those two are sent.
    await expiry().fill("14");
    await lifetime().fill("90");
    await save().click();
    await page.getByText("Settings saved.").waitFor();
    await expect.poll(() => updates.length).toBe(1);
    expect(updates[0]).toEqual({ expiryWarningDays: 14, maxKeyLifetimeDays: 90 });
    expect(await stored()).toMatchObject({ expiryWarningDays: 14, maxKeyLifetimeDays: 90, disableUnusedKeysAfterDays: 0, quotaThresholds: [80, 100] });
    await shot("02-saved");

    // What a leaked key gets: a choice of the three, the default shown, sent alone when changed.
    expect(await leaked().inputValue()).toBe(String(LeakedKeyAction.DISABLE));
    await leaked().selectOption({ label: "Revoke the key for good" });
    await save().click();
    await expect.poll(() => updates.length).toBe(2);
    expect(updates[1]).toEqual({ leakedKeyAction: "LEAKED_KEY_ACTION_REVOKE" });
    await expect.poll(async () => (await stored()).leakedKeyAction).toBe(LeakedKeyAction.REVOKE);

    // What is not a list of numbers never leaves the page; it is explained at its field.
    await thresholds().fill("80%, 100");
    await save().click();
    await page.getByText("Enter whole percentages separated by commas").waitFor();
    expect(await thresholds().getAttribute("aria-invalid")).toBe("true");
    expect(await inPage<string>("document.activeElement?.name")).toBe("quota_thresholds");
    expect(updates).toHaveLength(2);

    // A value out of bounds: the server's reason, at the field it names.
    await thresholds().fill("80, 100");
    await expiry().fill("400");
    await save().click();
    await page.getByRole("alert").filter({ hasText: "API_KEY_FIELD_INVALID" }).waitFor();
    await page.getByText("Must be between 1 and 365", { exact: true }).waitFor();
    expect(await expiry().getAttribute("aria-invalid")).toBe("true");
    expect(await inPage<string>("document.activeElement?.name")).toBe("expiry_warning_days");
    await shot("03-out-of-bounds");
    await expiry().fill("14");
    // A list's bad entry is named by its place in the list.
    await thresholds().fill("90, 80");
    await save().click();
    await page.getByText("Percentage 2: must be above the one before it", { exact: false }).waitFor();
    expect(await thresholds().getAttribute("aria-invalid")).toBe("true");
    await thresholds().fill("80, 100");

    // An admin: the notifications change, the maximum key lifetime is refused with the rule's reason.
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(adminSecret);
    await page.getByText("Your user is an admin: you can change the notifications only.").waitFor();
    expect(await lifetime().inputValue()).toBe("90");
    await lifetime().fill("30");
    await thresholds().fill("50, 90");
    await save().click();
    const refusal = page.getByRole("alert").filter({ hasText: "PERMISSION_DENIED" });
    await refusal.waitFor();
    expect(await refusal.textContent()).not.toContain("admin:write");
    expect(await refusal.textContent()).toContain("max_key_lifetime_days: reaches every key, owners' included, so only an owner changes it; your user is an admin");
    await page.getByText("Reaches every key, owners' included, so only an owner changes it; your user is an admin", { exact: true }).waitFor();
    expect(await lifetime().getAttribute("aria-invalid")).toBe("true");
    expect(await inPage<string>("document.activeElement?.name")).toBe("max_key_lifetime_days");
    expect(updates.at(-1)).toEqual({ maxKeyLifetimeDays: 30, quotaThresholds: [50, 90], setQuotaThresholds: true });
    // Refused as a whole: the thresholds sent with it did not change either.
    expect(await stored()).toMatchObject({ maxKeyLifetimeDays: 90, quotaThresholds: [80, 100] });
    await shot("04-admin-refused");

    await lifetime().fill("90");
    // The credits-low alert is a notification setting too.
    await creditsLow().fill("25");
    await save().click();
    await expect.poll(async () => (await stored()).quotaThresholds).toEqual([50, 90]);
    expect(updates.at(-1)).toEqual({ quotaThresholds: [50, 90], setQuotaThresholds: true, creditsLowThresholdPercent: 25 });
    expect((await stored()).creditsLowThresholdPercent).toBe(25);
    expect(await refusal.count()).toBe(0);
    expect(await lifetime().getAttribute("aria-invalid")).toBeNull();

    // The leaked-key action reaches owners' keys too: an admin is refused, at that setting.
    expect(await leaked().inputValue()).toBe(String(LeakedKeyAction.REVOKE));
    await leaked().selectOption({ label: "Notify only: key.leaked and an audit entry" });
    await save().click();
    await page.getByRole("alert").filter({ hasText: "PERMISSION_DENIED" }).waitFor();
    expect(updates.at(-1)).toEqual({ leakedKeyAction: "LEAKED_KEY_ACTION_NOTIFY" });
    expect(await leaked().getAttribute("aria-invalid")).toBe("true");
    expect(await inPage<string>("document.activeElement?.name")).toBe("leaked_key_action");
    expect((await stored()).leakedKeyAction).toBe(LeakedKeyAction.REVOKE);
    await shot("05-admin-refused-leaked");
    await leaked().selectOption({ label: "Revoke the key for good" });

    // Phone width: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.reload();
    await save().waitFor();
    await lifetime().fill("30");
    await save().click();
    await page.getByRole("alert").filter({ hasText: "PERMISSION_DENIED" }).waitFor();
    const wide = await inPage<string[]>(
      "[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 376).map((e) => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 5)",
    );
    expect(wide).toEqual([]);
    expect(await inPage<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
    await shot("06-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
