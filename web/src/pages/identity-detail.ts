import { Code, ConnectError } from "@connectrpc/connect";
import { UsagePeriod, type ApiKey, type Identity } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { creditsText } from "../credits-field.js";
import { field, h, replaceChildren, select, table } from "../dom.js";
import { clearAtFields, namedField, showAtField } from "../field-problems.js";
import { USAGE_PERIODS, formatCount, formatTime } from "../format.js";
import { identityChanges, identityForm } from "../identity-form.js";
import { identityLabel } from "../identity-choice.js";
import { keysOfIdentity } from "../key-list.js";
import { limitsText } from "../named-limits.js";
import { mayManageIdentities } from "../rights.js";
import { errorBox, heading, notify, openDialog, section, showError, type PageContext } from "../ui.js";
import { stateBadge } from "./keys.js";
import { usageFigures } from "../usage-figures.js";

/** One identity: its facts, its keys and their usage; owners and admins edit and delete it here. */

export function renderIdentityDetail(ctx: PageContext): void {
  const id = decodeURIComponent(ctx.params[0] ?? "");
  const problem = errorBox();
  const content = h("div");
  ctx.main.replaceChildren(h("p", null, h("a", { href: "#/identities" }, "← All identities")), problem, content);

  const reload = async (focusHeading = false) => {
    try {
      const [{ identity }, manage] = await Promise.all([api.getIdentity({ id }, { signal: ctx.signal }), mayManageIdentities()]);
      if (ctx.signal.aborted || !identity) return;
      replaceChildren(content, identityView(identity, manage, ctx, () => void reload()));
      if (focusHeading) content.querySelector("h1")?.focus();
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    }
  };
  void reload(true);
}

function identityView(identity: Identity, manage: boolean, ctx: PageContext, reload: () => void): HTMLElement {
  const meta = Object.entries(identity.meta);
  const facts: [string, string | HTMLElement][] = [
    ["Id", h("code", null, identity.id)],
    ["External id", h("code", null, identity.externalId)],
    ["Name", identity.name || "—"],
    ["Meta", meta.length === 0 ? "none" : h("dl", { class: "meta-list" }, meta.map(([key, value]) => [h("dt", null, key), h("dd", null, value)]))],
    ["Named limits", limitsText(identity.limits)],
    ["Credits", creditsText(identity.credits)],
    ["Created", formatTime(identity.createdAt)],
    ["Updated", formatTime(identity.updatedAt)],
  ];

  let tied: ApiKey[] = [];
  const keys = h("div");
  void section(
    keys,
    async () => {
      tied = await keysOfIdentity(identity.id, ctx.signal);
      return table(
        "Keys tied to this identity",
        ["Key", "Prefix", "State", "Requests today"],
        tied.map((key) => [h("a", { href: `#/keys/${encodeURIComponent(key.id)}` }, key.name || key.id), h("code", null, key.keyPrefix), stateBadge(key), formatCount(key.usage?.requestsToday ?? 0n)]),
        [h("p", null, "No keys yet. Choose this identity in a key's settings (Keys, then a key's Edit settings) to tie it here.")],
        { cards: true },
      );
    },
    ctx.signal,
  );

  const usage = h("div");
  const period = select(USAGE_PERIODS, String(UsagePeriod.WEEK), { name: "period" });
  const loadUsage = () => void section(usage, () => identityUsage(identity.id, Number(period.value) as UsagePeriod, ctx.signal), ctx.signal);
  period.addEventListener("change", loadUsage);
  loadUsage();

  return h(
    "div",
    null,
    heading(identityLabel(identity)),
    manage &&
      h(
        "div",
        { class: "actions identity-actions", role: "group", "aria-label": "Identity actions" },
        h("button", { type: "button", class: "secondary", onclick: () => void editIdentity(identity, reload) }, "Edit"),
        h("button", { type: "button", class: "danger", onclick: () => void deleteIdentity(identity, () => tied) }, "Delete"),
      ),
    h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", null, term), h("dd", null, value)])),
    h("section", { class: "card" }, h("h2", null, "Keys"), keys),
    h("section", { class: "card" }, h("h2", null, "Usage"), field("Period", period), usage),
  );
}

async function identityUsage(id: string, period: UsagePeriod, signal: AbortSignal): Promise<HTMLElement> {
  const usage = await api.getIdentityUsage({ id, period }, { signal });
  return h(
    "div",
    null,
    ...usageFigures(usage),
    table(
      "Requests by key",
      ["Key", "Requests"],
      usage.requestsByKey.map((k) => [h("a", { href: `#/keys/${encodeURIComponent(k.keyId)}` }, k.name || k.keyId), formatCount(k.requests)]),
      "No requests in this period.",
    ),
  );
}

async function editIdentity(identity: Identity, reload: () => void): Promise<void> {
  const form = identityForm(identity);
  const saved = await openDialog({
    title: `Edit “${identity.externalId}”`,
    submitLabel: "Save changes",
    body: form.element,
    canSubmit: (f) => (f.elements.namedItem("externalId") as HTMLInputElement).value.trim() !== "",
    onSubmit: async () => {
      clearAtFields(form.element);
      const changes = identityChanges(identity, form.read());
      if (Object.keys(changes).length === 1) return;
      try {
        await api.updateIdentity(changes);
      } catch (error) {
        showAtField(form.element, error);
        throw error;
      }
    },
  });
  if (saved) {
    notify("Identity saved.");
    reload();
  }
}

/**
 * Confirmed first. keygate refuses (failed_precondition) while keys that are not revoked are tied
 * to the identity: the dialog then stays open and says so in the server's words, with those keys.
 */
async function deleteIdentity(identity: Identity, tiedKeys: () => readonly ApiKey[]): Promise<void> {
  const refusal = h("section", { class: "refusal", role: "alert", hidden: true });
  const done = await openDialog({
    title: `Delete “${identity.externalId}”?`,
    submitLabel: "Delete identity",
    danger: true,
    body: [h("p", null, "The identity and its named limits and credits are removed: this cannot be undone. Revoked keys keep its id, for the record."), refusal],
    onSubmit: async () => {
      try {
        await api.deleteIdentity({ id: identity.id });
      } catch (error) {
        if (!(error instanceof ConnectError) || error.code !== Code.FailedPrecondition) throw error;
        const live = tiedKeys().filter((key) => !key.revokedAt);
        refusal.hidden = false;
        replaceChildren(
          refusal,
          h("h3", null, "keygate refused to delete it: keys are still tied to it"),
          h("p", null, namedField(error)?.said ?? error.rawMessage),
          live.length > 0 && h("ul", null, live.map((key) => h("li", null, h("a", { href: `#/keys/${encodeURIComponent(key.id)}` }, key.name || key.id)))),
          h("p", null, "Choose another identity (or none) in each key's settings, or revoke the keys, then delete it again."),
        );
        return false;
      }
    },
  });
  if (done) {
    notify(`Identity “${identity.externalId}” deleted.`);
    location.hash = "#/identities";
  }
}
