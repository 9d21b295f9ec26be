import { Environment, KeyType, type ApiKey } from "../../../gen/keygate/v1/key_admin_pb.js";
import { keyState } from "../../../src/model/key-state.js";
import { api } from "../api.js";
import { choicesOrExplain, forgetChoices } from "../choices.js";
import { field, h, replaceChildren, select, table } from "../dom.js";
import { clearAtFields, showAtField } from "../field-problems.js";
import { ENVIRONMENT_LABEL, formatCount, formatRateLimit, formatTime } from "../format.js";
import { identitiesForDialog } from "../identity-choice.js";
import { keyForm, scopeList } from "../key-form.js";
import { loadAllKeys, matching, SORT_ORDERS, sorted, STATE_FILTERS, type SortOrder, type StateFilter } from "../key-list.js";
import { leakedAmong } from "../leaks.js";
import { testSecretForm } from "../test-secret-form.js";
import { clearError, errorBox, heading, notify, openDialog, revealSecret, showError, type PageContext } from "../ui.js";

/** The keys table: filter by state, search, sort, pages, create, and a form to test any secret. */

const PAGE_SIZES = [
  ["10", "10"],
  ["25", "25"],
  ["50", "50"],
  ["100", "100"],
] as const;

/** Kept across visits, so returning from a key keeps the filter, search, order and page. */
const view = { filter: "all" as StateFilter, search: "", sort: "newest" as SortOrder, pageSize: 25, page: 0 };

export function stateBadge(key: ApiKey): HTMLElement {
  const state = keyState(key, Date.now());
  return h("span", { class: `badge ${state}` }, state);
}

const keysCount = (n: number) => (n === 1 ? "1 key" : `${n} keys`);

/** The mark of a key whose secret a scanner found in public; its page says where. */
export const leakedBadge = (): HTMLElement => h("span", { class: "badge leaked", title: "A secret scanner found this key's secret in public" }, "leaked");

export function renderKeys(ctx: PageContext): void {
  const problem = errorBox();
  const body = h("div");
  const summary = h("p", { class: "hint", role: "status" });
  const pageLabel = h("span", { class: "page-no" });
  const previous = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const filter = select(STATE_FILTERS, view.filter, { name: "filter" });
  const sort = select(SORT_ORDERS, view.sort, { name: "sort" });
  const pageSize = select(PAGE_SIZES, String(view.pageSize), { name: "pageSize" });
  const search = h("input", { type: "text", inputmode: "search", enterkeyhint: "search", name: "search", value: view.search, autocomplete: "off", spellcheck: "false", placeholder: "Name or sk_live_…" });
  let keys: ApiKey[] = [];
  /** Keys whose leak reports were asked for on this visit, and those found leaked. */
  const asked = new Set<string>();
  const leaked = new Set<string>();

  const reset = () => {
    view.filter = "all";
    view.search = "";
    view.page = 0;
    filter.value = view.filter;
    search.value = "";
    show();
    search.focus();
  };

  /** What the list says when nothing is in it, and what to do next. */
  const empty = () =>
    keys.length === 0
      ? [h("p", null, "No keys yet. A key lets a client call your API through Envoy."), h("button", { type: "button", class: "primary", onclick: () => void createKey(load) }, "Create your first key")]
      : [h("p", null, "No keys match this filter and search."), h("button", { type: "button", class: "secondary", onclick: reset }, "Show all keys")];

  const show = () => {
    const shown = sorted(matching(keys, view.filter, view.search, Date.now()), view.sort);
    const pages = Math.max(1, Math.ceil(shown.length / view.pageSize));
    view.page = Math.min(view.page, pages - 1);
    const onPage = shown.slice(view.page * view.pageSize, (view.page + 1) * view.pageSize);
    const nameCell = (key: ApiKey) =>
      h("span", { class: "key-name", "data-key-id": key.id }, h("a", { href: `#/keys/${encodeURIComponent(key.id)}` }, key.name || key.id), leaked.has(key.id) && leakedBadge());
    replaceChildren(
      body,
      table(
        "API keys",
        ["Name", "Prefix", "Environment", "State", "Scopes", "Rate limit", "Requests today", "Last used"],
        onPage.map((key) => [
          nameCell(key),
          h("code", null, key.keyPrefix),
          ENVIRONMENT_LABEL[key.environment],
          stateBadge(key),
          scopeList(key.scopes),
          formatRateLimit(key),
          formatCount(key.usage?.requestsToday ?? 0n),
          formatTime(key.lastUsedAt),
        ]),
        empty(),
        { cards: true },
      ),
    );
    const first = view.page * view.pageSize + 1;
    summary.textContent =
      shown.length === 0 ? "" : `Showing ${first}–${first + onPage.length - 1} of ${keysCount(shown.length)}${shown.length < keys.length ? ` (${keys.length} in all)` : ""}.`;
    pageLabel.textContent = `Page ${view.page + 1} of ${pages}`;
    previous.disabled = view.page === 0;
    next.disabled = view.page >= pages - 1;
    void markLeaks(onPage.filter((key) => !asked.has(key.id)));
  };

  /** Marks the leaked keys among those shown, in place: the table is not redrawn under the user. */
  const markLeaks = async (unknown: ApiKey[]) => {
    if (unknown.length === 0) return;
    for (const key of unknown) asked.add(key.id);
    try {
      const found = await leakedAmong(unknown, ctx.signal);
      if (ctx.signal.aborted) return;
      for (const id of found) {
        leaked.add(id);
        body.querySelector(`[data-key-id="${CSS.escape(id)}"]`)?.append(leakedBadge());
      }
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    }
  };

  const load = async () => {
    clearError(problem);
    body.setAttribute("aria-busy", "true");
    if (!body.hasChildNodes()) body.replaceChildren(h("p", { class: "loading" }, "Loading keys…"));
    try {
      keys = await loadAllKeys(ctx.signal);
      if (ctx.signal.aborted) return;
      asked.clear();
      leaked.clear();
      show();
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    } finally {
      body.removeAttribute("aria-busy");
    }
  };

  const change = (update: () => void) => () => {
    update();
    view.page = 0;
    show();
  };
  filter.addEventListener("change", change(() => (view.filter = filter.value as StateFilter)));
  sort.addEventListener("change", change(() => (view.sort = sort.value as SortOrder)));
  pageSize.addEventListener("change", change(() => (view.pageSize = Number(pageSize.value))));
  search.addEventListener("input", change(() => (view.search = search.value)));
  previous.addEventListener("click", () => {
    view.page -= 1;
    show();
  });
  next.addEventListener("click", () => {
    view.page += 1;
    show();
  });

  const create = h("button", { type: "button", class: "primary", onclick: () => void createKey(load) }, "Create key");
  ctx.main.replaceChildren(
    heading("API keys", create),
    h(
      "div",
      { class: "toolbar", role: "search", "aria-label": "Keys" },
      h("div", { class: "search-field" }, field("Search by name or prefix", search)),
      field("State", filter),
      field("Sort by", sort),
      field("Keys per page", pageSize),
    ),
    problem,
    summary,
    body,
    h("nav", { class: "pager", "aria-label": "Key pages" }, previous, pageLabel, next),
    testSecretForm(),
  );
  void load();
}

async function createKey(reload: () => Promise<void>): Promise<void> {
  const [loaded, identities] = await Promise.all([choicesOrExplain("Create key"), identitiesForDialog()]);
  if (!loaded) return;
  const form = keyForm(loaded.catalog, loaded.limits.availableScopes, identities);
  const environment = select(
    [
      [String(Environment.LIVE), "live (sk_live_…)"],
      [String(Environment.TEST), "test (sk_test_…)"],
    ],
    String(Environment.LIVE),
    { name: "environment" },
  );
  const keyType = select(
    [
      [String(KeyType.USER), "user: counts toward the owner's key limit"],
      [String(KeyType.SHARED), "shared: used by a team or a service"],
    ],
    String(KeyType.USER),
    { name: "keyType" },
  );
  const active = h("input", { type: "checkbox", name: "isActive", checked: true });
  const { limits } = loaded;
  let created: { secret: string; name: string } | undefined;
  await openDialog({
    title: "Create key",
    submitLabel: "Create key",
    body: [
      h("p", { class: "hint" }, `You hold ${limits.currentKeys} of ${limits.maxKeys} keys; the organization ${limits.organizationCurrentKeys} of ${limits.organizationMaxKeys}.`),
      form.element,
      h("div", { class: "inline" }, field("Environment", environment), field("Type", keyType)),
      h("label", { class: "check" }, active, " Active (usable at once)"),
    ],
    canSubmit: (f) => (f.elements.namedItem("name") as HTMLInputElement).value.trim() !== "",
    onSubmit: async () => {
      clearAtFields(form.element);
      const settings = form.read();
      const response = await api.createKey({
        name: settings.name,
        description: settings.description,
        scopes: settings.scopes,
        allowIps: settings.allowIps,
        ...(settings.rateLimit > 0 && { rateLimit: settings.rateLimit, rateLimitPeriod: settings.rateLimitPeriod }),
        ...(settings.expiresAt && { expiresAt: settings.expiresAt }),
        environment: Number(environment.value) as Environment,
        keyType: Number(keyType.value) as KeyType,
        isActive: active.checked,
        limits: settings.limits,
        ...(settings.credits && { credits: settings.credits }),
        identityId: settings.identityId,
      }).catch((error: unknown) => {
        showAtField(form.element, error);
        throw error;
      });
      created = { secret: response.secret, name: response.key?.name ?? settings.name };
    },
  });
  if (!created) return;
  forgetChoices();
  await revealSecret(`Key “${created.name}” created`, created.secret);
  created = undefined;
  notify("Key created.");
  await reload();
}
