import type { Identity } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { creditsText } from "../credits-field.js";
import { field, h, replaceChildren, table } from "../dom.js";
import { clearAtFields, showAtField } from "../field-problems.js";
import { formatTime } from "../format.js";
import { identityCreation, identityForm } from "../identity-form.js";
import { limitsText } from "../named-limits.js";
import { mayManageIdentities } from "../rights.js";
import { clearError, errorBox, heading, notify, openDialog, showError, type PageContext } from "../ui.js";

/**
 * The organization's identities (its customers), a page at a time as ListIdentities gives them
 * (creation order, cursor pages), found by external id; owners and admins add them here.
 */

const PAGE_SIZE = 25;

/** Kept across visits, so returning from an identity keeps the filter and the page. */
const view = { externalId: "", tokens: [""] };

export function renderIdentities(ctx: PageContext): void {
  const problem = errorBox();
  const body = h("div", { "aria-live": "polite" });
  const pageLabel = h("span", { class: "page-no" });
  const previous = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const search = h("input", { type: "text", name: "externalId", value: view.externalId, autocomplete: "off", spellcheck: "false", enterkeyhint: "search" });
  const head = heading("Identities");
  let nextToken = "";
  let manage = false;

  const emptyView = () =>
    view.externalId !== ""
      ? [h("p", null, "No identity has the external id ", h("code", null, view.externalId), "."), h("button", { type: "button", class: "secondary", onclick: () => find("") }, "Show all identities")]
      : [
          h("p", null, "No identities yet. An identity is one of your customers: its keys share its named limits and credits."),
          manage
            ? h("button", { type: "button", class: "primary", onclick: () => void createIdentity() }, "Create your first identity")
            : h("p", { class: "hint" }, "Owners and admins of your organization create them."),
        ];

  const load = async () => {
    clearError(problem);
    body.setAttribute("aria-busy", "true");
    if (!body.hasChildNodes()) body.replaceChildren(h("p", { class: "loading" }, "Loading identities…"));
    try {
      const at = view.tokens.length - 1;
      const page = await api.listIdentities({ pageSize: PAGE_SIZE, pageToken: view.tokens[at]!, externalId: view.externalId }, { signal: ctx.signal });
      if (ctx.signal.aborted) return;
      nextToken = page.nextPageToken;
      replaceChildren(body, identitiesTable(page.identities, emptyView()));
      pageLabel.textContent = `Page ${at + 1}`;
      previous.disabled = at === 0;
      next.disabled = nextToken === "";
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    } finally {
      body.removeAttribute("aria-busy");
    }
  };

  const find = (externalId: string) => {
    view.externalId = externalId;
    view.tokens = [""];
    search.value = externalId;
    void load();
  };
  previous.addEventListener("click", () => {
    view.tokens.pop();
    void load();
  });
  next.addEventListener("click", () => {
    view.tokens.push(nextToken);
    void load();
  });

  const createIdentity = async () => {
    const form = identityForm();
    let created: Identity | undefined;
    await openDialog({
      title: "Create identity",
      submitLabel: "Create identity",
      body: form.element,
      canSubmit: (f) => (f.elements.namedItem("externalId") as HTMLInputElement).value.trim() !== "",
      onSubmit: async () => {
        clearAtFields(form.element);
        try {
          created = (await api.createIdentity(identityCreation(form.read()))).identity;
        } catch (error) {
          showAtField(form.element, error);
          throw error;
        }
      },
    });
    if (!created) return;
    notify(`Identity “${created.externalId}” created.`);
    location.hash = `#/identities/${encodeURIComponent(created.id)}`;
  };

  const filter = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Identities" },
    h("div", { class: "search-field" }, field("Find by external id", search, "The exact id, as your systems know the customer.")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Find"), h("button", { type: "button", class: "secondary", onclick: () => find("") }, "Show all")),
  );
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    find(search.value.trim());
  });

  ctx.main.replaceChildren(
    head,
    h("p", null, "An identity is one of your customers or tenants. Tie its keys to it and they share its named limits and credits, across replicas."),
    filter,
    problem,
    body,
    h("nav", { class: "pager", "aria-label": "Identity pages" }, previous, pageLabel, next),
  );
  // The buttons wait for the caller's rights: a member never sees one they cannot use.
  void mayManageIdentities().then((may) => {
    if (ctx.signal.aborted) return;
    manage = may;
    if (may) head.append(h("button", { type: "button", class: "primary", onclick: () => void createIdentity() }, "Create identity"));
    void load();
  });
}

function identitiesTable(identities: readonly Identity[], empty: HTMLElement[]): HTMLElement {
  return table(
    "Identities",
    ["External id", "Name", "Named limits", "Credits", "Created"],
    identities.map((identity) => [
      h("a", { href: `#/identities/${encodeURIComponent(identity.id)}`, class: "identity-link" }, identity.externalId),
      identity.name || h("span", { class: "hint" }, "—"),
      limitsText(identity.limits),
      creditsText(identity.credits),
      formatTime(identity.createdAt),
    ]),
    empty,
    { cards: true },
  );
}
