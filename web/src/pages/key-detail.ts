import { UsagePeriod, type ApiKey } from "../../../gen/keygate/v1/key_admin_pb.js";
import { keyState } from "../../../src/model/key-state.js";
import { api } from "../api.js";
import { dailyChart } from "../charts.js";
import { choicesOrExplain, forgetChoices } from "../choices.js";
import { field, h, replaceChildren, select, stats, table } from "../dom.js";
import { ENVIRONMENT_LABEL, KEY_TYPE_LABEL, USAGE_PERIODS, formatCount, formatRateLimit, formatTime, sourceNote } from "../format.js";
import { changesOf, keyForm } from "../key-form.js";
import { livePanel } from "../live.js";
import { errorBox, heading, notify, openDialog, revealSecret, section, showError, type PageContext } from "../ui.js";
import { auditTable } from "./audit.js";
import { stateBadge } from "./keys.js";

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
      replaceChildren(content, keyView(key, ctx, () => void reload()));
      if (focusHeading) content.querySelector("h1")?.focus();
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
    ["Scopes", key.scopes.join(" ") || "none"],
    ["Allowed IPs", key.allowIps.join(", ") || "any address"],
    ["Rate limit", formatRateLimit(key)],
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
  const loadUsage = () => void section(usage, () => keyUsage(key.id, Number(period.value) as UsagePeriod, ctx.signal), ctx.signal);
  period.addEventListener("change", loadUsage);
  loadUsage();

  const audit = h("div");
  void section(audit, () => auditTable({ keyId: key.id, signal: ctx.signal }), ctx.signal);

  return h(
    "div",
    null,
    heading(key.name || key.id, stateBadge(key)),
    key.description && h("p", null, key.description),
    actions,
    revoked && h("p", { class: "hint" }, "A revoked key keeps its record for audit and billing; it can only be deleted."),
    h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)])),
    livePanel(key.id, ctx.signal, loadUsage),
    h("section", { class: "card" }, h("h2", null, "Usage"), field("Period", period), usage),
    h("section", { class: "card" }, h("h2", null, "Audit log"), audit),
  );
}

async function keyUsage(id: string, period: UsagePeriod, signal: AbortSignal): Promise<HTMLElement> {
  const usage = await api.getKeyUsage({ id, period }, { signal });
  return h(
    "div",
    null,
    stats(
      [formatCount(usage.totalRequests), "requests"],
      [formatCount(usage.successfulRequests), "successful"],
      [formatCount(usage.failedRequests), "failed"],
      [formatCount(usage.rateLimitedRequests), "rate limited"],
    ),
    h("p", { class: "hint" }, sourceNote(usage.source)),
    dailyChart(
      "Requests per day",
      usage.dailyBreakdown.map((d) => ({ date: d.date, requests: Number(d.requests), errors: Number(d.errors) })),
    ),
    table(
      "Endpoints",
      ["Method", "Path", "Requests"],
      usage.endpoints.map((e) => [e.method, h("code", null, e.path), formatCount(e.count)]),
      "No requests in this period.",
    ),
  );
}

async function editKey(key: ApiKey, reload: () => void): Promise<void> {
  const loaded = await choicesOrExplain(`Edit “${key.name}”`);
  if (!loaded) return;
  const form = keyForm(loaded.catalog, loaded.limits.availableScopes, key);
  const saved = await openDialog({
    title: `Edit “${key.name}”`,
    submitLabel: "Save changes",
    body: form.element,
    canSubmit: (f) => (f.elements.namedItem("name") as HTMLInputElement).value.trim() !== "",
    onSubmit: async () => {
      const changes = changesOf(key, form.read());
      if (Object.keys(changes).length > 1) await api.updateKey(changes);
    },
  });
  if (saved) {
    notify("Key saved.");
    reload();
  }
}

async function toggleKey(key: ApiKey, reload: () => void): Promise<void> {
  const problem = errorBox();
  try {
    await api.updateKey({ id: key.id, isActive: !key.isActive });
    notify(key.isActive ? "Key disabled: it stops working at once." : "Key enabled.");
    reload();
  } catch (error) {
    showError(problem, error);
    await openDialog({ title: key.isActive ? "Disable failed" : "Enable failed", body: problem });
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
