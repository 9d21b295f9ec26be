import { Code } from "@connectrpc/connect";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envoyCheck } from "../metrics/envoy-check.js";
import type { TestApp } from "../support/app.js";
import { expectDialogKeyboard, openConsole, UI_TIMEOUT_MS, type ConsoleSession } from "./console-session.js";

/**
 * The console in a real browser (Debian's Chromium via playwright-core) against a real keygate:
 * sign in, create a key and read its secret once, see a Check arrive in the live usage, rotate,
 * edit, disable, revoke and delete it, visit usage, billing and audit, at desktop and phone width,
 * with the keyboard. A screenshot of every page goes to test-output/console/.
 */

let session: ConsoleSession;
let t: TestApp;
let page: Page;
let pageErrors: string[];
const requestedUrls: string[] = [];

beforeAll(async () => {
  session = await openConsole({ env: { KEYGATE_USAGE_FLUSH_INTERVAL_MS: "100" }, clipboard: true });
  ({ t, page, pageErrors } = session);
  page.on("request", (request) => requestedUrls.push(request.url()));
}, 900_000);

afterAll(async () => {
  await session?.close();
});

const shot = (name: string) => session.shot(name);
const dialog = () => page.getByRole("dialog");
const inPage = <T>(expression: string) => session.inPage<T>(expression);

async function readSecretOnce(): Promise<string> {
  const secret = await page.locator("#secret-value").inputValue();
  expect(secret).toMatch(/^sk_live_[0-9A-Za-z]{40,}$/);
  await page.getByRole("button", { name: "Copy secret" }).click();
  await expect.poll(() => page.getByText("Copied to the clipboard.").isVisible()).toBe(true);
  expect(await inPage<string>("navigator.clipboard.readText()")).toBe(secret);
  return secret;
}

describe("the web console in Chromium", () => {
  it("does every key operation and shows live usage", async () => {
    const envoy = envoyCheck(t.app.url);

    // Sign in: a wrong key is refused with a clear message, the admin key is kept for the tab.
    await page.goto(`${t.app.url}/console`);
    await expect.poll(() => page.url()).toBe(`${t.app.url}/console/`);
    await page.getByLabel("Admin API key").fill("sk_live_mistyped");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Your admin key no longer works").waitFor();
    await shot("01-sign-in");
    await page.getByLabel("Admin API key").fill(t.admin.secret);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await page.getByRole("link", { name: t.admin.key.name }).waitFor();
    await shot("02-keys");

    // Create: the secret is shown once, copyable, and gone from the page afterwards.
    await page.getByRole("button", { name: "Create key" }).click();
    await dialog().getByLabel("Name").fill("console e2e");
    await dialog().getByRole("checkbox", { name: /machines:read/ }).check();
    await dialog().getByLabel("Rate limit").fill("100");
    await dialog().getByRole("button", { name: "Create key" }).click();
    await page.locator("#secret-value").waitFor();
    await shot("03-secret-once");
    const secret = await readSecretOnce();
    await page.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.locator("#secret-value").count()).toBe(0);
    await page.getByRole("link", { name: "console e2e" }).click();
    await page.getByRole("heading", { name: "console e2e" }).waitFor();
    const keyId = decodeURIComponent(page.url().split("#/keys/")[1]!);
    expect(keyId).toMatch(/^key_/);

    // Live usage: a Check through the real gRPC port shows up in the panel.
    await page.getByTestId("live-state").filter({ hasText: "Live" }).waitFor();
    const allowed = await envoy.check(secret, "/v1/machines/42");
    expect(allowed.status?.code ?? 0).toBe(0);
    await expect.poll(() => page.getByTestId("live-allowed").textContent(), { timeout: UI_TIMEOUT_MS }).toBe("1");
    await page.getByTestId("live-feed").getByText("+1 allowed").waitFor();
    await shot("04-key-live");

    // Rotate with a grace period: a new secret, and the old one still works for now.
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await dialog().getByLabel("Old secret keeps working for").selectOption({ label: "1 hour" });
    await dialog().getByRole("button", { name: "Rotate secret" }).click();
    await page.locator("#secret-value").waitFor();
    const rotated = await readSecretOnce();
    expect(rotated).not.toBe(secret);
    await page.getByRole("button", { name: "I have stored it" }).click();
    await page.getByText("Old secret works until").waitFor();
    expect((await envoy.check(rotated)).status?.code ?? 0).toBe(0);
    expect((await envoy.check(secret)).status?.code ?? 0).toBe(0);
    await shot("05-rotated");

    // Edit: description and allow-list; a bad address gets the contract's message.
    await page.getByRole("button", { name: "Edit settings" }).click();
    await dialog().getByLabel("Allowed IPs").fill("not-an-ip");
    await dialog().getByRole("button", { name: "Save changes" }).click();
    await dialog().getByText("not a valid IP address or CIDR range").waitFor();
    await dialog().getByLabel("Allowed IPs").fill("203.0.113.0/24");
    await dialog().getByLabel("Description").fill("made in the browser test");
    await dialog().getByRole("button", { name: "Save changes" }).click();
    await page.getByText("made in the browser test").waitFor();
    await page.getByText("203.0.113.0/24").waitFor();

    // Disable and enable. A disabled key whose expiry passes still shows "disabled", as Check
    // answers; the API refuses an expiry in the past, so that one is written to the store.
    await page.getByRole("button", { name: "Disable" }).click();
    await dialog().getByRole("button", { name: "Disable key" }).click();
    await page.locator(".page-head .badge", { hasText: "disabled" }).waitFor();
    const expiry = async (expiresAt: Date | null) => {
      const updatedAt = new Date(t.clock.now());
      const written = await t.store.keys.update(t.admin.key.organizationId, keyId, { expiresAt, updatedAt }, { organizationMax: 1_000, userMax: 1_000 });
      expect(written.ok).toBe(true);
    };
    await expiry(new Date(t.clock.now() - 60_000));
    await page.reload();
    await page.getByRole("heading", { name: "console e2e" }).waitFor();
    await expect.poll(() => page.locator(".page-head .badge").textContent()).toBe("disabled");
    const disabled = await envoy.check(rotated);
    expect(disabled.status?.code).toBe(Code.Unauthenticated);
    expect(disabled.httpResponse.case === "deniedResponse" && disabled.httpResponse.value.body).toContain("API_KEY_DISABLED");
    await expiry(null);
    await page.getByRole("button", { name: "Enable" }).click();
    await page.locator(".page-head .badge", { hasText: "active" }).waitFor();

    // Revoke: the key stops working, the record stays.
    await page.getByRole("button", { name: "Revoke" }).click();
    await dialog().getByLabel("Reason (kept in the audit log)").fill("browser test");
    await dialog().getByRole("button", { name: "Revoke key" }).click();
    await page.locator(".page-head .badge", { hasText: "revoked" }).waitFor();
    const denied = await envoy.check(rotated);
    expect(denied.status?.code).toBe(Code.Unauthenticated);
    expect(denied.httpResponse.case === "deniedResponse" && denied.httpResponse.value.body).toContain("API_KEY_REVOKED");
    await page.getByRole("cell", { name: "revoked" }).first().waitFor();
    await shot("06-revoked");

    // Organization usage, billing and audit pages.
    await page.getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();
    await page.getByRole("heading", { name: "Quota" }).waitFor();
    await page.locator("main [aria-busy]").first().waitFor({ state: "detached" });
    await expect.poll(() => page.locator("main .error").count()).toBe(0);
    await page.getByRole("img", { name: /Requests and errors per day/ }).waitFor();
    await shot("07-usage");
    await page.getByRole("link", { name: "Billing" }).click();
    await page.getByTestId("billing-total").waitFor();
    await shot("08-billing");
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("cell", { name: "rotated" }).first().waitFor();
    await page.getByRole("cell", { name: "created" }).first().waitFor();
    await shot("09-audit");

    // Delete, confirmed by typing the key's name.
    await page.goto(`${t.app.url}/console/#/keys/${encodeURIComponent(keyId)}`);
    await page.getByRole("button", { name: "Delete" }).click();
    const confirm = dialog().getByRole("button", { name: "Delete for good" });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog().getByLabel("Type “console e2e” to confirm").fill("console e2e");
    await confirm.click();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await expect.poll(() => page.getByRole("link", { name: "console e2e" }).count()).toBe(0);
    await expect(t.client.getKey({ id: keyId })).rejects.toThrow(/not found/);

    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("works with the keyboard and at phone width", async () => {
    await page.goto(`${t.app.url}/console/#/keys`);
    await expectDialogKeyboard(session, "Create key");

    await page.setViewportSize({ width: 375, height: 740 });
    for (const [route, name] of [
      ["#/keys", "10-phone-keys"],
      ["#/usage", "11-phone-usage"],
    ] as const) {
      await page.goto(`${t.app.url}/console/${route}`);
      await page.locator("main h1").waitFor();
      await page.locator("main [aria-busy]").first().waitFor({ state: "detached" });
      const wide = await inPage<string[]>(
        "[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 376 && !e.closest('.table-wrap')).map((e) => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 5)",
      );
      expect(wide, route).toEqual([]);
      expect(await inPage<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
      await shot(name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 60_000);

  it("never puts the admin key in a URL, and forgets it on sign-out", async () => {
    for (const url of requestedUrls) expect(url).not.toContain(t.admin.secret);
    expect(await inPage<string>("JSON.stringify(localStorage)")).not.toContain(t.admin.secret);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin API key").waitFor();
    expect(await inPage<string>("JSON.stringify(sessionStorage)")).not.toContain(t.admin.secret);
    await page.reload();
    await page.getByLabel("Admin API key").waitFor();
    expect(t.logs.join("")).not.toContain(t.admin.secret);
  }, 30_000);
});
