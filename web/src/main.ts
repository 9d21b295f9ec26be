import "./styles.css";
import { isSignedIn, signOut } from "./api.js";
import { choices, forgetChoices } from "./choices.js";
import { renderAudit } from "./pages/audit.js";
import { renderBilling } from "./pages/billing.js";
import { renderIdentities } from "./pages/identities.js";
import { renderIdentityDetail } from "./pages/identity-detail.js";
import { renderKeyDetail } from "./pages/key-detail.js";
import { renderKeys } from "./pages/keys.js";
import { renderSettings } from "./pages/settings.js";
import { renderSignIn } from "./pages/sign-in.js";
import { renderUsage } from "./pages/usage.js";
import { renderWebhookDetail } from "./pages/webhook-detail.js";
import { renderWebhooks } from "./pages/webhooks.js";
import { onSignedOut, type PageContext } from "./ui.js";

/**
 * The console's shell: hash routes (#/keys, #/keys/<id>, #/identities, #/identities/<id>, #/webhooks, #/webhooks/<id>, #/usage,
 * #/billing, #/audit, #/settings), so the server serves one page and no route ever carries the admin key.
 * Leaving a page aborts what it started (requests, live streams).
 */

const PAGES: Record<string, (ctx: PageContext) => void> = {
  keys: (ctx) => (ctx.params.length > 0 ? renderKeyDetail(ctx) : renderKeys(ctx)),
  identities: (ctx) => (ctx.params.length > 0 ? renderIdentityDetail(ctx) : renderIdentities(ctx)),
  webhooks: (ctx) => (ctx.params.length > 0 ? renderWebhookDetail(ctx) : renderWebhooks(ctx)),
  usage: renderUsage,
  billing: renderBilling,
  audit: renderAudit,
  settings: renderSettings,
};

const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;
const signOutButton = document.getElementById("sign-out") as HTMLButtonElement;
const who = document.getElementById("who")!;
let current = new AbortController();
let firstRender = true;

function route(message?: string): void {
  current.abort();
  current = new AbortController();
  const [name = "", ...params] = location.hash.replace(/^#\/?/, "").split("/").filter((part) => part !== "");
  const signedIn = isSignedIn();
  nav.hidden = !signedIn;
  if (!signedIn) who.textContent = "";
  signOutButton.hidden = !signedIn;
  const ctx: PageContext = { main, signal: current.signal, params };
  if (!signedIn) {
    document.title = "Sign in · keygate console";
    renderSignIn(ctx, message, () => {
      if (location.hash === "" || location.hash === "#/" || location.hash === "#/sign-in") location.hash = "#/keys";
      else route();
    });
    return;
  }
  choices().then(
    ({ limits }) => (who.textContent = `organization ${limits.organizationId}`),
    () => (who.textContent = ""),
  );
  const page = PAGES[name];
  if (!page) {
    location.replace("#/keys");
    return;
  }
  for (const link of nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === `#/${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${name[0]!.toUpperCase()}${name.slice(1)} · keygate console`;
  page(ctx);
  // Move focus to the new page's heading for keyboard and screen-reader users (not on first load).
  if (!firstRender) (main.querySelector("h1") ?? main).focus();
  firstRender = false;
}

function endSession(message?: string): void {
  signOut();
  forgetChoices();
  route(message);
}

onSignedOut((message) => endSession(message));
signOutButton.addEventListener("click", () => endSession("Signed out."));
window.addEventListener("hashchange", () => route());
route();
