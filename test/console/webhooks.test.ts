import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestApp } from "../support/app.js";
import { expectDialogKeyboard, openConsole, type ConsoleSession } from "./console-session.js";
import { Receiver } from "../webhooks/delivery/receiver.js";

/**
 * The console's Webhooks page in a real browser (Debian's Chromium via playwright-core) against a
 * real keygate, under the console's CSP: add an endpoint and read its signing secret once, see it
 * listed, send a test event and redeliver it, disable it (confirmed), edit, rotate the secret,
 * delete it; deliveries a page at a time; why keygate disabled an endpoint; the keyboard and
 * phone width. A screenshot of every step goes to test-output/console/.
 */

let session: ConsoleSession;
let t: TestApp;
let page: Page;
let pageErrors: string[];
let receiver: Receiver;
let target: string;

beforeAll(async () => {
  // A receiver that accepts every delivery, for when a dispatcher sends them.
  receiver = await Receiver.start();
  target = receiver.url();
  session = await openConsole({ env: { KEYGATE_WEBHOOK_ALLOW_INSECURE_TARGETS: "true" }, shotPrefix: "webhooks-", clipboard: true });
  ({ t, page, pageErrors } = session);
}, 900_000);

afterAll(async () => {
  await session?.close();
  await receiver?.close();
});

const shot = (name: string) => session.shot(name);
const dialog = () => page.getByRole("dialog");
const inPage = <T>(expression: string) => session.inPage<T>(expression);
const deliveryRows = () => page.locator(".deliveries tbody tr").filter({ hasText: "webhook.test" });

async function signIn(): Promise<void> {
  await page.goto(`${t.app.url}/console/#/webhooks`);
  await page.getByLabel("Admin API key").fill(t.admin.secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
}

/** Reads the signing secret from its one showing, copies it, and checks it leaves the page. */
async function readSigningSecretOnce(): Promise<string> {
  const secret = await page.locator("#secret-value").inputValue();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
  await dialog().getByText("you will not see it again").waitFor();
  await page.getByRole("button", { name: "Copy secret" }).click();
  await expect.poll(() => page.getByText("Copied to the clipboard.").isVisible()).toBe(true);
  expect(await inPage<string>("navigator.clipboard.readText()")).toBe(secret);
  await page.getByRole("button", { name: "I have stored it" }).click();
  await dialog().waitFor({ state: "detached" });
  expect(await page.locator("#secret-value").count()).toBe(0);
  expect(await inPage<string>("document.documentElement.outerHTML")).not.toContain(secret);
  return secret;
}

describe("the console's Webhooks page in Chromium", () => {
  it("adds, lists, tests, redelivers, disables, edits, rotates and deletes an endpoint", async () => {
    await signIn();
    await page.getByText("No endpoints yet: add one").waitFor();
    await shot("01-empty");

    // Add: the button waits for a URL and an event type; a URL the server refuses is explained in the dialog.
    await page.getByRole("button", { name: "Add endpoint" }).click();
    const add = dialog().getByRole("button", { name: "Add endpoint" });
    expect(await add.isDisabled()).toBe(true);
    expect(await dialog().getByRole("checkbox", { name: "All event types" }).isChecked()).toBe(true);
    expect(await dialog().getByRole("checkbox", { name: /key\.created/ }).isDisabled()).toBe(true);
    await dialog().getByLabel("Endpoint URL").fill("ftp://example.com/hooks");
    await add.click();
    await dialog().getByRole("alert").waitFor();
    expect(await dialog().getByRole("alert").textContent()).toMatch(/url/i);
    await dialog().getByLabel("Endpoint URL").fill(target);
    await dialog().getByRole("checkbox", { name: "All event types" }).uncheck();
    expect(await add.isDisabled()).toBe(true);
    await dialog().getByRole("checkbox", { name: /key\.created/ }).check();
    await dialog().getByRole("checkbox", { name: /key\.revoked/ }).check();
    await dialog().getByLabel("Description").fill("billing service");
    await shot("02-add");
    await add.click();
    await page.locator("#secret-value").waitFor();
    await shot("03-signing-secret-once");
    const secret = await readSigningSecretOnce();

    // Listed: its address, the types it gets, its state.
    const row = page.getByRole("row").filter({ hasText: target });
    await row.waitFor();
    expect(await row.getByRole("cell").nth(1).textContent()).toBe("key.created, key.revoked");
    await row.getByText("enabled").waitFor();
    await shot("04-list");
    const [endpoint] = (await t.client.listWebhookEndpoints({})).endpoints;
    expect(endpoint).toMatchObject({ url: target, eventTypes: ["key.created", "key.revoked"], description: "billing service", enabled: true });

    // Its page: no deliveries yet, then a test event, then that event again (same webhook-id).
    await row.getByRole("link", { name: target }).click();
    await page.getByRole("heading", { name: target, level: 1 }).waitFor();
    await page.getByText("No deliveries yet. Press “Send test” above").waitFor();
    await page.getByRole("button", { name: "Send test" }).click();
    await deliveryRows().first().waitFor();
    expect(await deliveryRows().count()).toBe(1);
    await shot("05-test-sent");
    await deliveryRows().first().getByRole("button", { name: /^Redeliver/ }).click();
    await expect.poll(() => deliveryRows().count()).toBe(2);
    const eventIds = await page.locator(".deliveries tbody tr code.event-id").allTextContents();
    expect(eventIds).toHaveLength(2);
    expect(eventIds[0]).toBe(eventIds[1]);
    await shot("06-redelivered");

    // Disable asks first: cancelling changes nothing.
    await page.getByRole("button", { name: "Disable" }).click();
    await dialog().getByText("Disable this endpoint?").waitFor();
    await dialog().getByRole("button", { name: "Cancel" }).click();
    expect((await t.client.listWebhookEndpoints({})).endpoints[0]!.enabled).toBe(true);
    await page.getByRole("button", { name: "Disable" }).click();
    await dialog().getByRole("button", { name: "Disable endpoint" }).click();
    await page.locator(".page-head .badge", { hasText: "disabled" }).waitFor();
    await page.getByText("This endpoint is disabled").waitFor();
    expect((await t.client.listWebhookEndpoints({})).endpoints[0]!.enabled).toBe(false);
    // keygate queues nothing for a disabled endpoint, so neither a test nor a redelivery is offered.
    expect(await page.getByRole("button", { name: "Send test" }).isDisabled()).toBe(true);
    expect(await deliveryRows().first().getByRole("button", { name: /^Redeliver/ }).isDisabled()).toBe(true);
    await shot("07-disabled");
    await page.getByRole("button", { name: "Enable" }).click();
    await page.locator(".page-head .badge", { hasText: "enabled" }).waitFor();

    // Edit: every event type, a new description.
    await page.getByRole("button", { name: "Edit" }).click();
    await dialog().getByRole("checkbox", { name: "All event types" }).check();
    await dialog().getByLabel("Description").fill("billing and audit");
    await dialog().getByRole("button", { name: "Save changes" }).click();
    await page.locator(".facts").getByText("billing and audit").waitFor();
    expect(await page.locator(".facts dt:has-text('Event types') + dd").textContent()).toBe("all");
    expect((await t.client.listWebhookEndpoints({})).endpoints[0]!.eventTypes).toEqual([]);

    // Rotate asks first, then shows the new secret once and says both sign for 24 hours.
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await dialog().getByText("signed with both the old and the new secret").waitFor();
    await dialog().getByRole("button", { name: "Rotate secret" }).click();
    await page.locator("#secret-value").waitFor();
    await dialog().getByText("For the next 24 hours every delivery is signed with both").waitFor();
    await shot("08-rotated");
    expect(await readSigningSecretOnce()).not.toBe(secret);

    // Delete asks first, then the list is empty again.
    await page.getByRole("button", { name: "Delete" }).click();
    await dialog().getByRole("button", { name: "Delete endpoint" }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    await page.getByText("No endpoints yet: add one").waitFor();
    expect((await t.client.listWebhookEndpoints({})).endpoints).toEqual([]);

    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("pages through deliveries, says why keygate disabled an endpoint, works with the keyboard and at phone width", async () => {
    const { endpoint } = await t.client.createWebhookEndpoint({ url: `${target}/paged`, description: "paged" });
    const sent: string[] = [];
    for (let i = 0; i < 21; i++) sent.push((await t.client.sendTestWebhook({ id: endpoint!.id })).delivery!.id);
    await page.goto(`${t.app.url}/console/#/webhooks/${encodeURIComponent(endpoint!.id)}`);
    await page.getByRole("heading", { name: endpoint!.url, level: 1 }).waitFor();
    await expect.poll(() => deliveryRows().count()).toBe(20);
    const older = page.getByRole("button", { name: "Older" });
    expect(await page.getByRole("button", { name: "Newer" }).isDisabled()).toBe(true);
    await older.click();
    await expect.poll(() => deliveryRows().count()).toBe(1);
    // Newest first: the second page holds the first test sent.
    await deliveryRows().first().getByRole("button", { name: new RegExp(sent[0]!) }).waitFor();
    expect(await older.isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Newer" }).click();
    await expect.poll(() => deliveryRows().count()).toBe(20);

    // An endpoint keygate disabled after days of failures says why, in the list and on its page.
    const reason = "every delivery failed for 5 days (last: HTTP 503)";
    await t.store.webhooks.updateEndpoint(t.admin.key.organizationId, endpoint!.id, { enabled: false, disabledReason: reason }, new Date(t.clock.now()));
    await page.reload();
    await page.getByText(`keygate disabled this endpoint: ${reason}`).waitFor();
    await page.goto(`${t.app.url}/console/#/webhooks`);
    await page.getByRole("row").filter({ hasText: endpoint!.url }).getByText(reason).waitFor();

    // The keyboard: the dialog takes focus, Escape closes it and gives focus back.
    await page.goto(`${t.app.url}/console/#/webhooks`);
    await expectDialogKeyboard(session, "Add endpoint");

    await page.setViewportSize({ width: 375, height: 740 });
    for (const [route, name] of [
      ["#/webhooks", "09-phone-list"],
      [`#/webhooks/${encodeURIComponent(endpoint!.id)}`, "10-phone-endpoint"],
    ] as const) {
      await page.goto(`${t.app.url}/console/${route}`);
      await page.locator("main h1").waitFor();
      await page.locator("main table").first().waitFor();
      await page.locator("main [aria-busy]").first().waitFor({ state: "detached" });
      const wide = await inPage<string[]>(
        "[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 376 && !e.closest('.table-wrap')).map((e) => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 5)",
      );
      expect(wide, route).toEqual([]);
      expect(await inPage<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
      await shot(name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
