import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_SCANNING_PATH } from "../../src/server/secret-scanning-endpoint.js";
import { GithubReportSigner } from "../leaks/github-report-signer.js";
import type { TestApp } from "../support/app.js";
import { meteredKeyCheckedOnce } from "../support/metered-key.js";
import { openConsole, SHOTS, type ConsoleSession } from "./console-session.js";

/**
 * The keys side of the console in Chromium, at desktop (1366 px) and phone (390 px) width, each
 * finding of issue 20 and issue 18's leak marks with a screenshot of each width in
 * test-output/console/keys-*.png: the nav is hidden (and takes no focus) before sign-in; the state
 * filters follow the key's state as Check decides it; search by name or prefix, sorting and pages,
 * each asked of the server (ListKeys' state, query, order_by and page tokens); the
 * phone list cuts no column; scope names never break inside; Disable asks first; empty states say
 * what to do next; a key reported leaked (through the real secret-scanning endpoint) is marked in
 * the list and its page says where it was found.
 */

const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
const LEAK_URL = "https://github.com/octo/repo/blob/main/.env";

let session: ConsoleSession;
let t: TestApp;
let page: Page;
const names = { active: "alpha active", disabled: "bravo disabled", revoked: "charlie revoked", expired: "delta expired", leaked: "echo leaked" };
const ids: Record<keyof typeof names, string> = { active: "", disabled: "", revoked: "", expired: "", leaked: "" };
let revokedPrefix = "";

beforeAll(async () => {
  const github = new GithubReportSigner();
  const keysFile = join(mkdtempSync(join(tmpdir(), "keygate-console-leaks-")), "secret-scanning-keys.json");
  writeFileSync(keysFile, github.keysFile());
  session = await openConsole({ env: { KEYGATE_SECRET_SCANNING_KEYS_FILE: keysFile }, shotPrefix: "keys-" });
  ({ t, page } = session);
  const create = async (name: string, isActive = true) => (await t.client.createKey({ name, scopes: ["machines:read", "components:write"], isActive })).key!;
  ids.active = (await create(names.active)).id;
  ids.disabled = (await create(names.disabled, false)).id;
  const revoked = await create(names.revoked);
  ids.revoked = revoked.id;
  revokedPrefix = revoked.keyPrefix;
  await t.client.revokeKey({ id: revoked.id, reason: "test" });
  // The API refuses an expiry in the past, so it is written to the store.
  ids.expired = (await create(names.expired)).id;
  const past = new Date(t.clock.now() - 60_000);
  const written = await t.store.keys.update(t.admin.key.organizationId, ids.expired, { expiresAt: past, updatedAt: past }, { organizationMax: 1_000, userMax: 1_000 });
  expect(written.ok).toBe(true);
  // Leaked the way GitHub says so: a signed report to the real endpoint (the default action disables it).
  const { key, secret } = await t.client.createKey({ name: names.leaked, scopes: [] });
  ids.leaked = key!.id;
  const body = JSON.stringify([{ token: secret, type: "keygate_api_key", url: LEAK_URL, source: "content" }]);
  const response = await fetch(`${t.app.url}${SECRET_SCANNING_PATH}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "github-public-key-identifier": github.keyIdentifier, "github-public-key-signature": github.signatureOf(body) },
  });
  expect(response.status).toBe(200);
}, 900_000);

afterAll(async () => {
  await session?.close();
});

const inPage = <T>(expression: string) => session.inPage<T>(expression);

/**
 * The scope names in `within` whose text runs over more than one line, or past `within`'s right
 * edge. The lines are counted on the text itself (a Range), since an element made a block or a
 * flex item has one box however many lines its text takes.
 */
const brokenScopes = (within: string) =>
  inPage<string[]>(
    `[...document.querySelectorAll(${JSON.stringify(`${within} code.scope`)})].filter((c) => {
      const range = document.createRange();
      range.selectNodeContents(c);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      return lines.size !== 1 || c.getBoundingClientRect().right > c.closest(${JSON.stringify(within)}).getBoundingClientRect().right + 0.5;
    }).map((c) => c.textContent)`,
  );
const dialog = () => page.getByRole("dialog");
/** The names listed once the server has answered the last change (the list is aria-busy until then). */
async function listed(): Promise<string[]> {
  await page.locator('#key-list[aria-busy="true"]').waitFor({ state: "detached" });
  return page.locator(".table-wrap tbody td:first-child a").allTextContents();
}
/** Names in the server's name order: by character code, as MongoDB compares strings. */
const byCode = (names: readonly string[]) => [...names].sort();

/** Screenshots at both widths (the page reloaded at each, as a phone would open it), then back to desktop. */
async function atBothWidths(name: string, check: (width: number) => Promise<void>): Promise<void> {
  for (const [label, viewport] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
    await page.setViewportSize(viewport);
    await check(viewport.width);
    expect(await inPage<number>("document.documentElement.scrollWidth"), `${name} at ${label}`).toBeLessThanOrEqual(viewport.width);
    await session.shot(`${name}-${label}`);
    expect(existsSync(join(SHOTS, `keys-${name}-${label}.png`))).toBe(true);
  }
  await page.setViewportSize(DESKTOP);
}

/**
 * Elements matching `selector` that reach past `width` or start left of the screen; inside a
 * table that scrolls on its own (not shown as cards) they may.
 */
const outside = (selector: string, width: number) =>
  inPage<string[]>(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].filter((e) => { const r = e.getBoundingClientRect(); return (r.right > ${width} + 0.5 || r.left < -0.5) && !e.closest(".table-wrap:not(.cards)"); }).map((e) => e.tagName + ":" + e.textContent.slice(0, 30))`,
  );

async function signIn(): Promise<void> {
  await page.getByLabel("Admin API key").fill(t.admin.secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "API keys" }).waitFor();
}

describe("the console's keys side in Chromium", () => {
  it("hides the nav before sign-in, where it takes no focus", async () => {
    await atBothWidths("01-sign-in", async () => {
      await page.goto(`${t.app.url}/console/`);
      await page.getByLabel("Admin API key").waitFor();
      expect(await page.locator("#nav").isVisible()).toBe(false);
      expect(await page.locator("#sign-out").isVisible()).toBe(false);
      expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
      // Backwards from the key field (which has focus) there is nothing to reach in the header.
      expect(await inPage<string>("document.activeElement?.name")).toBe("adminKey");
      await page.keyboard.press("Shift+Tab");
      expect(await inPage<boolean>("document.activeElement?.closest('header') !== null")).toBe(false);
    });
    await page.getByLabel("Admin API key").fill(t.admin.secret);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Keys" }).waitFor();
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("filters by state as Check decides it, searches by name or prefix, sorts, and marks the leaked key", async () => {
    await page.goto(`${t.app.url}/console/#/keys`);
    if (await page.getByLabel("Admin API key").isVisible()) await signIn();
    await page.getByRole("link", { name: names.leaked }).waitFor();
    await page.getByLabel("Sort by").selectOption({ label: "Name (A to Z)" });
    const state = page.getByLabel("State");
    for (const [label, expected] of [
      ["Active", [names.active, t.admin.key.name]],
      // Disabled is not revoked: a revoked key is only under Revoked.
      ["Disabled", [names.disabled, names.leaked]],
      ["Revoked", [names.revoked]],
      ["Expired", [names.expired]],
    ] as const) {
      await state.selectOption({ label });
      expect(await listed(), label).toEqual(byCode(expected));
      for (const badge of await page.locator(".table-wrap tbody .badge:not(.leaked)").allTextContents()) expect(badge, label).toBe(label.toLowerCase());
    }
    await state.selectOption({ label: "All keys" });
    expect(await listed()).toEqual(byCode(Object.values(names).concat(t.admin.key.name)));

    // The leak mark: on the leaked key's row only.
    const leakedRow = page.locator(".table-wrap tbody tr", { has: page.getByRole("link", { name: names.leaked }) });
    await leakedRow.locator(".badge.leaked").waitFor();
    expect(await page.locator(".table-wrap tbody .badge.leaked").count()).toBe(1);

    // Search by name (any case) and by prefix.
    const search = page.getByLabel("Search by name or prefix");
    await search.fill("BRAVO");
    expect(await listed()).toEqual([names.disabled]);
    await search.fill(revokedPrefix);
    expect(await listed()).toEqual([names.revoked]);
    await page.getByText("Showing 1–1 of 1 key.").waitFor();
    await search.fill("");

    await atBothWidths("02-list", async (width) => {
      await page.reload();
      await leakedRow.locator(".badge.leaked").waitFor();
      expect(await page.locator(".table-wrap tbody tr").count()).toBe(6);
      // No column cut: every cell, the State one above all, is on the screen.
      expect(await outside(".table-wrap td, .table-wrap td *", width)).toEqual([]);
      for (const cell of await page.locator('.table-wrap td[data-label="State"]').all()) expect(await cell.isVisible()).toBe(true);
      // Scope names stay whole.
      expect(await brokenScopes("main")).toEqual([]);
    });
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("says what to do next when nothing matches, on the keys and the webhooks pages", async () => {
    await page.goto(`${t.app.url}/console/#/keys`);
    await page.getByRole("link", { name: names.leaked }).waitFor();
    await page.getByLabel("State").selectOption({ label: "Revoked" });
    await page.getByLabel("Search by name or prefix").fill("no such key");
    await page.getByText("No keys match this filter and search.").waitFor();
    await atBothWidths("03-keys-no-match", async () => {
      await page.getByRole("button", { name: "Show all keys" }).waitFor();
    });
    await page.getByRole("button", { name: "Show all keys" }).click();
    expect(await listed()).toHaveLength(6);
    expect(await page.getByLabel("State").inputValue()).toBe("all");
    expect(await inPage<string>("document.activeElement?.name")).toBe("search");

    await page.goto(`${t.app.url}/console/#/webhooks`);
    await atBothWidths("04-webhooks-empty", async () => {
      await page.reload();
      await page.getByText("No endpoints yet: add one").waitFor();
    });
    await page.getByRole("button", { name: "Add your first endpoint" }).click();
    await dialog().getByRole("heading", { name: "Add webhook endpoint" }).waitFor();
    await page.keyboard.press("Escape");
    await dialog().waitFor({ state: "detached" });
    expect(await inPage<string>("document.activeElement?.textContent")).toBe("Add your first endpoint");

    // A key with no requests: its usage offers the longest period, then says how to make one.
    await page.goto(`${t.app.url}/console/#/keys/${encodeURIComponent(ids.active)}`);
    await page.getByRole("heading", { name: names.active }).waitFor();
    await page.getByRole("button", { name: "Show the last 30 days" }).click();
    await page.getByText("No requests in the last 30 days.").waitFor();
    expect(await page.getByLabel("Period").inputValue()).toBe(await page.getByLabel("Period").locator("option", { hasText: "Last 30 days" }).getAttribute("value"));
    await page.getByRole("link", { name: "Keys page" }).waitFor();
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("keeps scope names whole in the key dialogs", async () => {
    await page.goto(`${t.app.url}/console/#/keys`);
    await atBothWidths("05-create-dialog", async (width) => {
      if ((await dialog().count()) === 0) await page.locator("#main").getByRole("button", { name: "Create key" }).click();
      await dialog().getByRole("checkbox", { name: /components:write/ }).waitFor();
      expect(await brokenScopes("dialog"), `at ${width}`).toEqual([]);
      expect(await dialog().locator("code.scope").count()).toBeGreaterThan(10);
    });
    await page.keyboard.press("Escape");
    await dialog().waitFor({ state: "detached" });
  }, 120_000);

  it("asks before disabling a key, and keeps the keyboard where it was", async () => {
    await page.goto(`${t.app.url}/console/#/keys/${encodeURIComponent(ids.active)}`);
    await page.getByRole("heading", { name: names.active }).waitFor();
    const disable = page.getByRole("button", { name: "Disable", exact: true });

    await disable.click();
    await dialog().getByRole("heading", { name: `Disable “${names.active}”?` }).waitFor();
    await dialog().getByText("The key stops working at once").waitFor();
    await dialog().getByRole("button", { name: "Cancel" }).click();
    await dialog().waitFor({ state: "detached" });
    expect((await t.client.getKey({ id: ids.active })).key!.isActive).toBe(true);
    expect(await inPage<string>("document.activeElement?.textContent")).toBe("Disable");

    await atBothWidths("06-disable-confirm", async () => {
      if ((await dialog().count()) === 0) await disable.click();
      await dialog().getByRole("button", { name: "Disable key" }).waitFor();
    });
    await dialog().getByRole("button", { name: "Disable key" }).click();
    await page.locator(".page-head .badge", { hasText: "disabled" }).waitFor();
    expect((await t.client.getKey({ id: ids.active })).key!.isActive).toBe(false);
    // The new view's button in the same place has focus.
    await expect.poll(() => inPage<string>("document.activeElement?.textContent")).toBe("Enable");

    // Enabling needs no confirmation: it only gives back what was there.
    await page.keyboard.press("Enter");
    await page.locator(".page-head .badge", { hasText: "active" }).waitFor();
    expect((await t.client.getKey({ id: ids.active })).key!.isActive).toBe(true);
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("shows where a leaked key was found, prominently, on its page", async () => {
    await atBothWidths("07-leaked-key", async (width) => {
      await page.goto(`${t.app.url}/console/#/keys/${encodeURIComponent(ids.leaked)}`);
      const banner = page.getByRole("alert").filter({ hasText: "This key's secret was found in public" });
      await banner.waitFor();
      await banner.getByText("keygate disabled the key").waitFor();
      const link = banner.getByRole("link", { name: LEAK_URL });
      expect(await link.getAttribute("href")).toBe(LEAK_URL);
      expect(await link.getAttribute("rel")).toBe("noopener noreferrer");
      await banner.getByText("(content)", { exact: false }).waitFor();
      await page.locator(".page-head .badge.leaked").waitFor();
      expect(await outside("main *", width)).toEqual([]);
    });
    // Another key's page has no banner.
    await page.goto(`${t.app.url}/console/#/keys/${encodeURIComponent(ids.disabled)}`);
    await page.getByRole("heading", { name: names.disabled }).waitFor();
    await page.locator("main [aria-busy]").first().waitFor({ state: "detached" });
    expect(await page.getByText("This key's secret was found in public").count()).toBe(0);
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("asks the server for each page with the filter, search and order, never for the whole list", async () => {
    // More matching keys than one page of 10 holds.
    const zulu = Array.from({ length: 12 }, (_, i) => `zulu ${String(i).padStart(2, "0")}`);
    for (const name of zulu) await t.client.createKey({ name, scopes: [] });
    const asked: Record<string, unknown>[] = [];
    const record = (request: Request) => {
      if (request.url().endsWith("/keygate.v1.KeyAdminService/ListKeys")) asked.push(JSON.parse(request.postData() ?? "{}") as Record<string, unknown>);
    };
    page.on("request", record);
    try {
      await page.goto(`${t.app.url}/console/#/keys`);
      await page.getByRole("heading", { name: "API keys" }).waitFor();
      await page.getByLabel("Keys per page").selectOption("10");
      await page.getByLabel("State").selectOption({ label: "All keys" });
      await page.getByLabel("Sort by").selectOption({ label: "Name (Z to A)" });
      await page.getByLabel("Search by name or prefix").fill("ZULU");
      const newestFirst = [...zulu].reverse();
      expect(await listed()).toEqual(newestFirst.slice(0, 10));
      await page.getByText("Showing 1–10; more on the next page.").waitFor();
      await page.getByRole("button", { name: "Next page" }).click();
      expect(await listed()).toEqual(newestFirst.slice(10));
      await page.getByText("Showing 11–12 of 12 keys.").waitFor();
      expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Previous page" }).click();
      expect(await listed()).toEqual(newestFirst.slice(0, 10));
    } finally {
      page.off("request", record);
    }
    const searched = asked.filter((body) => body["query"] === "ZULU");
    expect(searched[0]).toMatchObject({ query: "ZULU", orderBy: "KEY_ORDER_NAME_DESC", pageSize: 10 });
    expect(searched.filter((body) => typeof body["pageToken"] === "string" && body["pageToken"] !== "")).toHaveLength(1);
    expect(asked.every((body) => body["pageSize"] === 10 || body["pageSize"] === 25)).toBe(true);
    expect(session.pageErrors).toEqual([]);
  }, 120_000);

  it("tests a secret: what a Check left of each limit and credit balance, its identity's too", async () => {
    const secret = await meteredKeyCheckedOnce(t, "console-test");
    await page.goto(`${t.app.url}/console/#/keys`);
    if (await page.getByLabel("Admin API key").isVisible()) await signIn();
    await page.getByRole("heading", { name: "API keys" }).waitFor();
    await page.getByLabel("Secret to test").fill(secret);
    await page.getByRole("button", { name: "Test", exact: true }).click();
    const result = page.locator(".test-key .result");
    await result.getByText("Valid: key “metered”").waitFor();
    const lines = (await result.locator("li").allTextContents()).map((line) => line.replace(/ by .* UTC| refilled .* UTC/, " …"));
    expect(lines).toEqual([
      "Rate limit: 6 of 7 / hour left, all back ….",
      "Limit “daily”: 4 of 5 / day left, all back ….",
      "Identity's limit “team”: 5 of 6 / hour left, all back ….",
      "Credits: 3 of 4 left, ….",
      "Identity's credits: 9 of 10 left, never refilled.",
    ]);
    expect(session.pageErrors).toEqual([]);
  }, 120_000);
});
