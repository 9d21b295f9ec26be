import { UsagePeriod, type ApiKey } from "../../../gen/keygate/v1/key_admin_pb.js";
import { keyState } from "../../../src/model/key-state.js";
import { api } from "../api.js";
import { choicesOrExplain, forgetChoices } from "../choices.js";
import { creditsText } from "../credits-field.js";
import { field, h, replaceChildren, select, table, uid } from "../dom.js";
import { ENVIRONMENT_LABEL, KEY_TYPE_LABEL, USAGE_PERIODS, formatCount, formatRateLimit, formatTime } from "../format.js";
import { clearAtFields, showAtField } from "../field-problems.js";
import { identitiesForDialog, identityLink } from "../identity-choice.js";
import { changesOf, keyForm, scopeList } from "../key-form.js";
import { limitsText } from "../named-limits.js";
import { isWebAddress, leaksOf, type Leak } from "../leaks.js";
import { livePanel } from "../live.js";
import { errorBox, heading, notify, openDialog, revealSecret, section, showError, type PageContext } from "../ui.js";
import { auditTable } from "./audit.js";
import { leakedBadge, stateBadge } from "./keys.js";
import { usageFigures } from "../usage-figures.js";

/** One key: its facts, every change (edit, enable/disable, rotate, revoke, delete), its usage and audit. */

const GRACE_PERIODS = [
  ["0", "End the old secret now"],
  ["3600", "1 hour"],
  ["86400", "24 hours"],
  ["604800", "7 days"],
  ["2592000", "30 days"],
] as const;

export function renderKeyDetail(ctx: PageContext): void {
  const id = decodeURIComponent(ctx.params[0] ?? "");
  const problem = errorBox();
  const content = h("div");
  ctx.main.replaceChildren(h("p", null, h("a", { href: "#/keys" }, "← All keys")), problem, content);

  const reload = async (focusHeading = false) => {
    try {
      const { key } = await api.getKey({ id }, { signal: ctx.signal });
      if (ctx.signal.aborted || !key) return;
      // A dialog gives focus back to the action that opened it, which the new view replaces:
      // focus goes to the action in the same place (Disable becomes Enable), else the heading.
      const actions = [...content.querySelectorAll<HTMLButtonElement>(".key-actions button")];
      const focused = actions.findIndex((button) => button === document.activeElement);
      replaceChildren(content, keyView(key, ctx, () => void reload()));
      const again = focused >= 0 ? content.querySelectorAll<HTMLButtonElement>(".key-actions button")[focused] : undefined;
      if (again && !again.disabled) again.focus();
      else if (focusHeading || focused >= 0) content.querySelector("h1")?.focus();
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    }
  };
  void reload(true);
}

function keyView(key: ApiKey, ctx: PageContext, reload: () => void): HTMLElement {
  const state = keyState(key, Date.now());
  const revoked = state === "revoked";
  const facts: [string, string | HTMLElement][] = [
    ["Id", h("code", null, key.id)],
    ["Prefix", h("code", null, key.keyPrefix)],
    ["State", stateBadge(key)],
    ["Environment", ENVIRONMENT_LABEL[key.environment]],
    ["Type", KEY_TYPE_LABEL[key.keyType]],
    ["Owner", key.ownerUserId],
    ["Scopes", scopeList(key.scopes)],
    ["Allowed IPs", key.allowIps.join(", ") || "any address"],
    ["Rate limit", formatRateLimit(key)],
    ["Identity", identityLink(key.identityId, ctx.signal)],
    ["Named limits", limitsText(key.limits)],
    ["Credits", creditsText(key.credits)],
    ["Expires", key.expiresAt ? formatTime(key.expiresAt) : "never"],
    ["Created", `${formatTime(key.createdAt)} by ${key.createdBy}`],
    ["Updated", formatTime(key.updatedAt)],
    ["Last used", formatTime(key.lastUsedAt)],
    ["Requests", `${formatCount(key.usage?.requestsToday ?? 0n)} today, ${formatCount(key.usage?.requestsThisMonth ?? 0n)} this month, ${formatCount(key.usage?.totalRequests ?? 0n)} in all`],
  ];
  if (key.revokedAt) facts.push(["Revoked", formatTime(key.revokedAt)]);
  if (key.previousSecretExpiresAt) facts.push(["Old secret works until", formatTime(key.previousSecretExpiresAt)]);

  const act = (label: string, run: () => Promise<void>, cls = "secondary") =>
    h("button", { type: "button", class: cls, disabled: revoked, onclick: () => void run() }, label);
  const actions = h(
    "div",
    { class: "actions key-actions", role: "group", "aria-label": "Key actions" },
    act("Edit settings", () => editKey(key, reload)),
    act(key.isActive ? "Disable" : "Enable", () => toggleKey(key, reload)),
    act("Rotate secret", () => rotateKey(key, reload)),
    act("Revoke", () => revokeKey(key, reload), "danger"),
    h("button", { type: "button", class: "danger", onclick: () => void deleteKey(key) }, "Delete"),
  );

  const usage = h("div");
  const period = select(USAGE_PERIODS, String(UsagePeriod.WEEK), { name: "period" });
  const longest = () => {
    period.value = String(UsagePeriod.MONTH);
    loadUsage();
    period.focus();
  };
  const loadUsage = () => void section(usage, () => keyUsage(key.id, Number(period.value) as UsagePeriod, ctx.signal, longest), ctx.signal);
  period.addEventListener("change", loadUsage);
  loadUsage();

  const audit = h("div");
  void section(audit, () => auditTable({ keyId: key.id, signal: ctx.signal }), ctx.signal);

  const leaks = h("div");
  const leakMark = h("span");
  leaksOf(key.id, ctx.signal).then(
    (found) => {
      if (ctx.signal.aborted || found.length === 0) return;
      replaceChildren(leaks, leakBanner(found, revoked));
      replaceChildren(leakMark, leakedBadge());
    },
    (error: unknown) => {
      if (ctx.signal.aborted) return;
      const box = errorBox();
      replaceChildren(leaks, box);
      showError(box, error);
    },
  );

  return h(
    "div",
    null,
    heading(key.name || key.id, h("span", { class: "badges" }, stateBadge(key), leakMark)),
    leaks,
    key.description && h("p", null, key.description),
    actions,
    revoked && h("p", { class: "hint" }, "A revoked key keeps its record for audit and billing; it can only be deleted."),
    h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)])),
    livePanel(key.id, ctx.signal, loadUsage),
    h("section", { class: "card" }, h("h2", null, "Usage"), field("Period", period), usage),
    h("section", { class: "card" }, h("h2", null, "Audit log"), audit),
  );
}

/** What keygate did about a leak, as its audit entry's `action` says. */
const LEAK_ACTION_SAID: Record<string, string> = {
  notify: "only notified your webhooks: the key still works",
  disable: "disabled the key",
  revoke: "revoked the key",
};

/** Where the key's secret was found, newest report first, and what to do about it. */
function leakBanner(leaks: readonly Leak[], revoked: boolean): HTMLElement {
  const titleId = uid("leak-title");
  const latest = leaks[0]!;
  return h(
    "section",
    { class: "leak-banner", role: "alert", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "This key's secret was found in public"),
    h("p", null, `A secret scanner reported it ${formatTime(latest.at)}; keygate ${LEAK_ACTION_SAID[latest.action] ?? "recorded it"}.`),
    h(
      "ul",
      { class: "leak-places" },
      leaks.map((leak) =>
        h(
          "li",
          null,
          "Found at ",
          isWebAddress(leak.url) ? h("a", { href: leak.url, rel: "noopener noreferrer", target: "_blank", class: "leak-url" }, leak.url) : h("code", { class: "leak-url" }, leak.url || "an unknown place"),
          leak.source && ` (${leak.source})`,
          `, reported ${formatTime(leak.at)}.`,
        ),
      ),
    ),
    h(
      "p",
      null,
      revoked
        ? "Remove the secret from where it was found, and give its clients a new key."
        : "Remove the secret from where it was found, then rotate the secret (or revoke the key) below; anyone may have copied it.",
    ),
  );
}

async function keyUsage(id: string, period: UsagePeriod, signal: AbortSignal, showLongest: () => void): Promise<HTMLElement> {
  const usage = await api.getKeyUsage({ id, period }, { signal });
  return h(
    "div",
    null,
    ...usageFigures(usage),
    table(
      "Endpoints",
      ["Method", "Path", "Requests"],
      usage.endpoints.map((e) => [e.method, h("code", null, e.path), formatCount(e.count)]),
      period === UsagePeriod.MONTH
        ? h("p", null, "No requests in the last 30 days. Send one through Envoy with this key's secret, or check it with “Test a secret” on the ", h("a", { href: "#/keys" }, "Keys page"), ".")
        : [h("p", null, "No requests in this period."), h("button", { type: "button", class: "secondary", onclick: showLongest }, "Show the last 30 days")],
    ),
  );
}

async function editKey(key: ApiKey, reload: () => void): Promise<void> {
  const [loaded, identities] = await Promise.all([choicesOrExplain(`Edit “${key.name}”`), identitiesForDialog()]);
  if (!loaded) return;
  const form = keyForm(loaded.catalog, loaded.limits.availableScopes, identities, key);
  const saved = await openDialog({
    title: `Edit “${key.name}”`,
    submitLabel: "Save changes",
    body: form.element,
    canSubmit: (f) => (f.elements.namedItem("name") as HTMLInputElement).value.trim() !== "",
    onSubmit: async () => {
      clearAtFields(form.element);
      const changes = changesOf(key, form.read());
      if (Object.keys(changes).length > 1) {
        await api.updateKey(changes).catch((error: unknown) => {
          showAtField(form.element, error);
          throw error;
        });
      }
    },
  });
  if (saved) {
    notify("Key saved.");
    reload();
  }
}

async function toggleKey(key: ApiKey, reload: () => void): Promise<void> {
  if (key.isActive) return disableKey(key, reload);
  const problem = errorBox();
  try {
    await api.updateKey({ id: key.id, isActive: !key.isActive });
    notify("Key enabled.");
    reload();
  } catch (error) {
    showError(problem, error);
    await openDialog({ title: "Enable failed", body: problem });
  }
}

/** Confirmed first, like revoke and delete: every client of the key is refused from the next request. */
async function disableKey(key: ApiKey, reload: () => void): Promise<void> {
  const done = await openDialog({
    title: `Disable “${key.name || key.id}”?`,
    submitLabel: "Disable key",
    danger: true,
    body: h("p", null, "The key stops working at once: every request with it is refused (API_KEY_DISABLED) until you enable it again. Its settings and secret stay."),
    onSubmit: async () => {
      await api.updateKey({ id: key.id, isActive: false });
    },
  });
  if (done) {
    notify("Key disabled: it stops working at once.");
    reload();
  }
}

async function rotateKey(key: ApiKey, reload: () => void): Promise<void> {
  const grace = select(GRACE_PERIODS, "3600", { name: "grace" });
  let secret = "";
  await openDialog({
    title: `Rotate the secret of “${key.name}”`,
    submitLabel: "Rotate secret",
    body: [
      h("p", null, "A new secret replaces the current one; the settings stay. Clients using the old secret must switch before it ends."),
      field("Old secret keeps working for", grace),
    ],
    onSubmit: async () => {
      secret = (await api.regenerateKey({ id: key.id, gracePeriodSeconds: Number(grace.value) })).secret;
    },
  });
  if (secret === "") return;
  await revealSecret(`New secret for “${key.name}”`, secret);
  secret = "";
  notify("Secret rotated.");
  reload();
}

async function revokeKey(key: ApiKey, reload: () => void): Promise<void> {
  const reason = h("input", { type: "text", name: "reason", maxlength: 500, autocomplete: "off" });
  const done = await openDialog({
    title: `Revoke “${key.name}”?`,
    submitLabel: "Revoke key",
    danger: true,
    body: [
      h("p", null, "The key stops working at once and for good. Its record and usage stay for audit and billing."),
      field("Reason (kept in the audit log)", reason),
    ],
    onSubmit: async () => {
      await api.revokeKey({ id: key.id, reason: reason.value.trim() });
    },
  });
  if (done) {
    forgetChoices();
    notify("Key revoked.");
    reload();
  }
}

async function deleteKey(key: ApiKey): Promise<void> {
  const expected = key.name || key.id;
  const confirmation = h("input", { type: "text", name: "confirm", autocomplete: "off", spellcheck: "false" });
  const done = await openDialog({
    title: `Delete “${expected}”?`,
    submitLabel: "Delete for good",
    danger: true,
    body: [
      h("p", null, "The key stops working at once and its record is removed: this cannot be undone. To keep the record for audit and billing, revoke it instead."),
      field(`Type “${expected}” to confirm`, confirmation),
    ],
    canSubmit: () => confirmation.value.trim() === expected,
    onSubmit: async () => {
      await api.deleteKey({ id: key.id });
    },
  });
  if (done) {
    forgetChoices();
    notify(`Key “${expected}” deleted.`);
    location.hash = "#/keys";
  }
}
