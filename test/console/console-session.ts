import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";
import { buildConsole } from "../../src/console/build-console.js";
import { packageRoot } from "../../src/console/package-root.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { launchChromium } from "./chromium.js";

/** Where every console test's screenshots go. */
export const SHOTS = join(packageRoot(), "test-output", "console");
/** How long a step in the page may take on a busy machine. */
export const UI_TIMEOUT_MS = 15_000;

/**
 * A keygate and the console it serves, open in Chromium at desktop width: what every console test
 * starts from. CI runs `npm test` on a fresh clone, so the console is built first. Page errors and
 * Content-Security-Policy violations (only console messages in the browser) are collected in
 * `pageErrors`, for each test to expect empty.
 */
export interface ConsoleSession {
  t: TestApp;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  pageErrors: string[];
  /** A full-page screenshot, `${prefix}${name}.png` in SHOTS. */
  shot(name: string): Promise<Buffer>;
  /** Page code as text: the tests' tsconfig has node's types, not the DOM's. */
  inPage<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

export async function openConsole(options: { env?: Record<string, string>; shotPrefix?: string; clipboard?: boolean } = {}): Promise<ConsoleSession> {
  const [, browser] = await Promise.all([buildConsole(), launchChromium()]);
  await mkdir(SHOTS, { recursive: true });
  const t = await startTestApp({ ...(options.env && { env: options.env }) });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (options.clipboard) await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.app.url });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
  });
  return {
    t,
    browser,
    context,
    page,
    pageErrors,
    shot: (name) => page.screenshot({ path: join(SHOTS, `${options.shotPrefix ?? ""}${name}.png`), fullPage: true }),
    inPage: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
    async close() {
      await context.close();
      await browser.close();
      await t.close();
    },
  };
}

/** The button named `button` opens a dialog that takes focus; Escape closes it and gives focus back to the button. */
export async function expectDialogKeyboard(session: ConsoleSession, button: string): Promise<void> {
  const { page, inPage } = session;
  await page.getByRole("button", { name: button }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("dialog").waitFor();
  expect(await inPage<boolean>('document.activeElement?.closest("dialog") !== null')).toBe(true);
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
  expect(await inPage<string>("document.activeElement?.textContent")).toBe(button);
}
