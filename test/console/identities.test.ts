import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitPeriod, RefillInterval, UserRole } from "../../gen/keygate/v1/key_admin_pb.js";
import type { TestApp } from "../support/app.js";
import { openConsole, SHOTS, type ConsoleSession } from "./console-session.js";

/**
 * The console's identities (issue 19) in Chromium, against a keygate with the identity RPCs, at
 * desktop (1366 px) and phone (390 px) width with screenshots in test-output/console/identities-*.png:
 * the empty list's next step; create and edit with meta, named limits and credits; the server's
 * validation errors at the field they name (an identity's and a key's); a key tied to an identity
 * from its dialog; a delete refused while a key holds the identity, in the server's words; cursor
 * pages and the external-id filter; a member reads identities with no button they cannot use.
 */

const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

let session: ConsoleSession;
let t: TestApp;
let page: Page;
let memberSecret: string;
let keyId: string;
let identityId = "";

beforeAll(async () => {
  session = await openConsole({ shotPrefix: "identities-" });
  ({ t, page } = session);
  const { user } = await t.client.addUser({ name: "a member", role: UserRole.MEMBER });
  memberSecret = (await t.client.createKey({ name: "a member key", scopes: ["admin:read"], ownerUserId: user!.id })).secret;
  keyId = (await t.client.createKey({ name: "acme backend", scopes: ["machines:read"] })).key!.id;
}, 900_000);

afterAll(async () => {
  await session?.close();
});

const inPage = <T>(expression: string) => session.inPage<T>(expression);
const dialog = () => page.getByRole("dialog");
const main = () => page.locator("#main");

/** At each width: `check`, then no horizontal overflow and a screenshot; back to desktop after. */
async function atBothWidths(name: string, check: (width: number) => Promise<void>): Promise<void> {
  for (const [label, viewport] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
    await page.setViewportSize(viewport);
    await check(viewport.width);
    expect(await inPage<number>("document.documentElement.scrollWidth"), `${name} at ${label}`).toBeLessThanOrEqual(viewport.width);
    // An open dialog scrolls on its own: nothing in it may reach past the screen either.
    expect(await inPage<number>("Math.max(0, ...[...document.querySelectorAll('dialog *')].map((e) => e.getBoundingClientRect().right))"), `${name} dialog at ${label}`).toBeLessThanOrEqual(viewport.width);
    await session.shot(`${name}-${label}`);
    expect(existsSync(join(SHOTS, `identities-${name}-${label}.png`))).toBe(true);
  }
  await page.setViewportSize(DESKTOP);
}

/** The message shown at the control `selector` in the dialog, and that the control is marked invalid. */
async function problemAt(selector: string): Promise<string> {
  const control = dialog().locator(selector);
  await expect.poll(() => control.getAttribute("aria-invalid")).toBe("true");
  const described = (await control.getAttribute("aria-describedby"))!.split(" ");
  const id = described[described.length - 1]!;
  // The message sits in the control's own field, under its label.
  expect(await inPage<boolean>(`document.getElementById(${JSON.stringify(id)}).closest(".field")?.querySelector(${JSON.stringify(selector)}) != null`)).toBe(true);
  return (await page.locator(`#${id}`).textContent()) ?? "";
}

/**
 * Goes to `hash` in the signed-in console. A dialog a failed test left open would stay over the
 * next page (a hash change keeps the document), so it is closed first.
 */
async function visit(hash: string): Promise<void> {
  while ((await dialog().count()) > 0) await page.keyboard.press("Escape");
  // Already there: a reload, so the page reads what the test changed through the API.
  const target = `${t.app.url}/console/${hash}`;
  if (page.url() === target) await page.reload();
  else await page.goto(target);
}

async function signIn(secret: string, hash: string): Promise<void> {
  await visit(hash);
  if (await page.locator("#sign-out").isVisible()) {
    await page.locator("#sign-out").click();
    await page.goto(`${t.app.url}/console/${hash}`);
  }
  await page.getByLabel("Admin API key").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe("the console's identities in Chromium", () => {
  it("offers the first identity when there is none, and creates one, with its errors shown at the field", async () => {
    await signIn(t.admin.secret, "#/identities");
    await page.getByRole("heading", { name: "Identities", level: 1 }).waitFor();
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Identities" }).getAttribute("aria-current")).toBe("page");
    await atBothWidths("01-empty", async () => {
      await page.getByRole("button", { name: "Create your first identity" }).waitFor();
    });

    await page.getByRole("button", { name: "Create your first identity" }).click();
    await dialog().getByRole("heading", { name: "Create identity" }).waitFor();
    await dialog().getByLabel("External id").fill("acme");
    await dialog().getByLabel("Name", { exact: true }).fill("Acme Corp");
    await dialog().getByRole("button", { name: "Add a meta entry" }).click();
    await dialog().getByLabel("Meta key").fill("plan");
    await dialog().getByLabel("Meta value").fill("pro");
    // Two limits; the second's name is one the server refuses.
    await dialog().getByRole("button", { name: "Add a limit" }).click();
    await dialog().getByRole("button", { name: "Add a limit" }).click();
    const names = dialog().locator('input[name="limitName"]');
    const counts = dialog().locator('input[name="limitValue"]');
    await names.nth(0).fill("per-second");
    await counts.nth(0).fill("10");
    await dialog().locator('select[name="limitPeriod"]').nth(0).selectOption({ label: "per second" });
    await names.nth(1).fill("per day!");
    await counts.nth(1).fill("10000");
    await dialog().locator('select[name="limitPeriod"]').nth(1).selectOption({ label: "per day" });
    await dialog().getByLabel(/This identity has credits/).check();
    await dialog().getByLabel("Credits remaining").fill("1000");
    await dialog().getByLabel("Refill", { exact: true }).selectOption({ label: "Monthly" });
    await dialog().getByLabel("Refill to").fill("1000");
    await dialog().getByLabel("Day of the month").fill("15");
    await dialog().getByRole("button", { name: "Create identity" }).click();

    expect(await problemAt('[data-field="limits[1].name"]')).toMatch(/letters, digits/);
    await dialog().getByRole("alert").getByText("A field is not valid.").waitFor();
    // The focus is on the field to fix.
    expect(await inPage<string>("document.activeElement?.dataset.field")).toBe("limits[1].name");
    await atBothWidths("02-create-error", async () => {
      await dialog().locator(".field-problem").waitFor();
    });

    await names.nth(1).fill("per-day");
    await dialog().getByRole("button", { name: "Create identity" }).click();
    await page.getByRole("heading", { name: "Acme Corp (acme)", level: 1 }).waitFor();
    const { identities } = await t.client.listIdentities({ externalId: "acme" });
    expect(identities).toHaveLength(1);
    const created = identities[0]!;
    identityId = created.id;
    expect(created.name).toBe("Acme Corp");
    expect(created.meta).toEqual({ plan: "pro" });
    expect(created.limits.map((l) => [l.name, l.limit, l.period])).toEqual([
      ["per-second", 10, RateLimitPeriod.SECOND],
      ["per-day", 10000, RateLimitPeriod.DAY],
    ]);
    expect(created.credits?.remaining).toBe(1000n);
    expect(created.credits?.refill).toMatchObject({ amount: 1000n, interval: RefillInterval.MONTHLY, day: 15 });
    expect(session.pageErrors).toEqual([]);
  }, 180_000);

  it("edits an identity: only what changed is sent, and an external id taken shows at its field", async () => {
    await t.client.createIdentity({ externalId: "globex" });
    const updates: Record<string, unknown>[] = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/UpdateIdentity")) updates.push(request.postDataJSON() as Record<string, unknown>);
    });
    await visit(`#/identities/${encodeURIComponent(identityId)}`);
    await page.getByRole("heading", { name: "Acme Corp (acme)", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Edit" }).click();
    await dialog().getByLabel("External id").fill("globex");
    await dialog().getByRole("button", { name: "Save changes" }).click();
    expect(await problemAt('[data-field="external_id"]')).toMatch(/another identity/i);
    await dialog().getByText("Another identity of your organization already has that external id.").waitFor();

    await dialog().getByLabel("External id").fill("acme");
    await dialog().getByLabel("Name", { exact: true }).fill("Acme Inc");
    await dialog().getByRole("button", { name: "Remove limit 1" }).click();
    await dialog().getByLabel("Credits remaining").fill("250");
    await dialog().getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("heading", { name: "Acme Inc (acme)", level: 1 }).waitFor();
    // The external id went back to what it was and the meta was not touched: neither is sent.
    expect(Object.keys(updates.at(-1)!).sort()).toEqual(["credits", "id", "limits", "name"]);
    const edited = (await t.client.getIdentity({ id: identityId })).identity!;
    expect(edited.name).toBe("Acme Inc");
    expect(edited.limits.map((l) => l.name)).toEqual(["per-day"]);
    expect(edited.credits?.remaining).toBe(250n);
    expect(edited.meta).toEqual({ plan: "pro" });
    await main().getByText("250 credits as last set, refilled to 1,000 each month on day 15 (UTC)").waitFor();
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("ties a key to the identity, with its named limits and credits, from the key's dialog", async () => {
    await visit(`#/keys/${encodeURIComponent(keyId)}`);
    await page.getByRole("heading", { name: "acme backend" }).waitFor();
    await page.getByRole("button", { name: "Edit settings" }).click();
    await dialog().getByLabel("Identity", { exact: true }).selectOption({ label: "Acme Inc (acme)" });
    await dialog().getByRole("button", { name: "Add a limit" }).click();
    // `default` is the key's rate_limit: the server refuses it as a named limit, at the row's name.
    await dialog().getByLabel("Limit name").fill("default");
    await dialog().getByLabel("Requests").fill("5");
    await dialog().getByLabel(/This key has credits/).check();
    await dialog().getByLabel("Credits remaining").fill("50");
    await dialog().getByRole("button", { name: "Save changes" }).click();
    expect(await problemAt('[data-field="limits[0].name"]')).toMatch(/rate_limit/);
    await atBothWidths("03-key-dialog-error", async () => {
      await dialog().locator(".field-problem").waitFor();
    });
    expect((await t.client.getKey({ id: keyId })).key!.identityId).toBe("");

    await dialog().getByLabel("Limit name").fill("burst");
    await dialog().getByRole("button", { name: "Save changes" }).click();
    await dialog().waitFor({ state: "detached" });
    await main().getByRole("link", { name: "Acme Inc (acme)" }).waitFor();
    const key = (await t.client.getKey({ id: keyId })).key!;
    expect(key.identityId).toBe(identityId);
    expect(key.limits.map((l) => [l.name, l.limit])).toEqual([["burst", 5]]);
    expect(key.credits?.remaining).toBe(50n);

    // The identity's page lists the key.
    await main().getByRole("link", { name: "Acme Inc (acme)" }).click();
    await page.getByRole("heading", { name: "Acme Inc (acme)", level: 1 }).waitFor();
    await main().locator(".card").filter({ hasText: "Keys tied to this identity" }).getByRole("link", { name: "acme backend" }).waitFor();
    await atBothWidths("04-detail", async () => {
      await page.reload();
      await main().getByRole("link", { name: "acme backend" }).first().waitFor();
      await main().getByText("Requests by key", { exact: true }).waitFor();
    });
    expect(session.pageErrors).toEqual([]);
  }, 180_000);

  it("shows the server's refusal to delete an identity a key still holds, then deletes it once untied", async () => {
    await visit(`#/identities/${encodeURIComponent(identityId)}`);
    await main().getByRole("link", { name: "acme backend" }).first().waitFor();
    await page.getByRole("button", { name: "Delete" }).click();
    await dialog().getByRole("button", { name: "Delete identity" }).click();
    const refusal = dialog().locator(".refusal");
    await refusal.getByText("keygate refused to delete it: keys are still tied to it").waitFor();
    await refusal.getByText("1 key is still tied to the identity", { exact: false }).waitFor();
    await refusal.getByRole("link", { name: "acme backend" }).waitFor();
    expect(await refusal.getAttribute("role")).toBe("alert");
    await atBothWidths("05-delete-refused", async () => {
      await refusal.waitFor();
    });
    expect((await t.client.getIdentity({ id: identityId })).identity?.id).toBe(identityId);
    await dialog().getByRole("button", { name: "Cancel" }).click();

    await t.client.updateKey({ id: keyId, identityId: "" });
    await page.getByRole("button", { name: "Delete" }).click();
    await dialog().getByRole("button", { name: "Delete identity" }).click();
    await page.getByRole("heading", { name: "Identities", level: 1 }).waitFor();
    expect((await t.client.listIdentities({ externalId: "acme" })).identities).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("pages through identities by cursor and finds one by its external id", async () => {
    for (let i = 1; i <= 26; i++) await t.client.createIdentity({ externalId: `customer-${String(i).padStart(2, "0")}` });
    await visit(`#/identities`);
    await page.getByRole("link", { name: "globex" }).waitFor();
    const rows = page.locator(".table-wrap tbody tr");
    expect(await rows.count()).toBe(25);
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2").waitFor();
    // Creation order, as ListIdentities gives it: the second page holds what the first had no room for.
    const all = (await t.client.listIdentities({ pageSize: 1000 })).identities.map((identity) => identity.externalId);
    expect(all.length).toBeGreaterThan(25);
    expect(await page.locator(".table-wrap tbody td:first-child a").allTextContents()).toEqual(all.slice(25));
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByRole("link", { name: "globex" }).waitFor();

    await main().getByLabel("Find by external id").fill("customer-07");
    await page.getByRole("button", { name: "Find" }).click();
    await expect.poll(() => page.locator(".table-wrap tbody td:first-child a").allTextContents()).toEqual(["customer-07"]);
    await main().getByLabel("Find by external id").fill("nobody");
    await page.getByRole("button", { name: "Find" }).click();
    await page.getByText("No identity has the external id").waitFor();
    await page.getByRole("button", { name: "Show all identities" }).click();
    await page.getByRole("link", { name: "globex" }).waitFor();
    await atBothWidths("06-list", async () => {
      await page.reload();
      await page.getByRole("link", { name: "globex" }).waitFor();
    });
    expect(session.pageErrors).toEqual([]);
  }, 180_000);

  it("shows a member the identities read-only, with no button they cannot use", async () => {
    const id = (await t.client.listIdentities({ externalId: "globex" })).identities[0]!.id;
    await signIn(memberSecret, "#/identities");
    await page.getByRole("link", { name: "globex" }).waitFor();
    expect(await main().getByRole("button", { name: "Create identity" }).count()).toBe(0);
    await page.getByRole("link", { name: "globex" }).click();
    await page.getByRole("heading", { name: "globex", level: 1 }).waitFor();
    await main().getByText("Requests by key", { exact: true }).waitFor();
    expect(await main().getByRole("button", { name: "Edit" }).count()).toBe(0);
    expect(await main().getByRole("button", { name: "Delete" }).count()).toBe(0);
    expect(page.url()).toContain(encodeURIComponent(id));
    await atBothWidths("07-member-detail", async () => {
      await page.reload();
      await main().getByText("Requests by key", { exact: true }).waitFor();
    });
    expect(session.pageErrors).toEqual([]);
  }, 120_000);
});
