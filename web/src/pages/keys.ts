import { Environment, KeyType, type ApiKey } from "../../../gen/keygate/v1/key_admin_pb.js";
import { keyState } from "../../../src/model/key-state.js";
import { api } from "../api.js";
import { choicesOrExplain, forgetChoices } from "../choices.js";
import { field, h, replaceChildren, select, table } from "../dom.js";
import { clearAtFields, showAtField } from "../field-problems.js";
import { ENVIRONMENT_LABEL, formatCount, formatRateLimit, formatTime } from "../format.js";
import { identitiesForDialog } from "../identity-choice.js";
import { keyForm, scopeList } from "../key-form.js";
import { keyPage, SEARCH_MAX, SORT_ORDERS, STATE_FILTERS, type KeyListView, type SortOrder, type StateFilter } from "../key-list.js";
import { leakedAmong } from "../leaks.js";
import { testSecretForm } from "../test-secret-form.js";
import { clearError, errorBox, heading, notify, openDialog, revealSecret, showError, type PageContext } from "../ui.js";

/** The keys table: filter by state, search, sort and pages, each asked of the server; create, and a form to test any secret. */

const PAGE_SIZES = [
  ["10", "10"],
  ["25", "25"],
  ["50", "50"],
  ["100", "100"],
] as const;

/** How long typing pauses before the search is sent, so a word is one request, not one per letter. */
const SEARCH_PAUSE_MS = 250;

/**
 * Kept across visits, so returning from a key keeps the filter, search, order and page: `tokens`
 * holds the page token of each page reached so far (the first page's is "").
 */
const view: KeyListView & { page: number; tokens: string[] } = { filter: "all", search: "", sort: "newest", pageSize: 25, page: 0, tokens: [""] };

export function stateBadge(key: ApiKey): HTMLElement {
  const state = keyState(key, Date.now());
  return h("span", { class: `badge ${state}` }, state);
}

const keysCount = (n: number) => (n === 1 ? "1 key" : `${n} keys`);

/** The mark of a key whose secret a scanner found in public; its page says where. */
export const leakedBadge = (): HTMLElement => h("span", { class: "badge leaked", title: "A secret scanner found this key's secret in public" }, "leaked");

export function renderKeys(ctx: PageContext): void {
  const problem = errorBox();
  const body = h("div", { id: "key-list" });
  const summary = h("p", { class: "hint", role: "status" });
  const pageLabel = h("span", { class: "page-no" });
  const previous = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const filter = select(STATE_FILTERS, view.filter, { name: "filter" });
  const sort = select(SORT_ORDERS, view.sort, { name: "sort" });
  const pageSize = select(PAGE_SIZES, String(view.pageSize), { name: "pageSize" });
  const search = h("input", { type: "text", inputmode: "search", enterkeyhint: "search", name: "search", value: view.search, maxlength: String(SEARCH_MAX), autocomplete: "off", spellcheck: "false", placeholder: "Name, sk_live_… or key id" });
  /** The page shown, and the token of the one after it ("" on the last). */
  let keys: ApiKey[] = [];
  let nextPageToken = "";
  /** The request under way; a newer one aborts it, so an older answer never replaces a newer one. */
  let request: AbortController | undefined;
  let typing: ReturnType<typeof setTimeout> | undefined;
  /** Keys whose leak reports were asked for on this visit, and those found leaked. */
  const asked = new Set<string>();
  const leaked = new Set<string>();

  const unfiltered = () => view.filter === "all" && view.search.trim() === "";

  const reset = () => {
    view.filter = "all";
    view.search = "";
    filter.value = view.filter;
    search.value = "";
    void firstPage();
    search.focus();
  };

  /** What the list says when nothing is in it, and what to do next. */
  const empty = () =>
    view.page === 0 && unfiltered()
      ? [h("p", null, "No keys yet. A key lets a client call your API through Envoy."), h("button", { type: "button", class: "primary", onclick: () => void createKey(load) }, "Create your first key")]
      : [h("p", null, "No keys match this filter and search."), h("button", { type: "button", class: "secondary", onclick: reset }, "Show all keys")];

  const show = () => {
    const nameCell = (key: ApiKey) =>
      h("span", { class: "key-name", "data-key-id": key.id }, h("a", { href: `#/keys/${encodeURIComponent(key.id)}` }, key.name || key.id), leaked.has(key.id) && leakedBadge());
    replaceChildren(
      body,
      table(
        "API keys",
        ["Name", "Prefix", "Environment", "State", "Scopes", "Rate limit", "Requests today", "Last used"],
        keys.map((key) => [
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
    const last = first + keys.length - 1;
    summary.textContent =
      keys.length === 0 ? "" : nextPageToken === "" ? `Showing ${first}–${last} of ${keysCount(last)}.` : `Showing ${first}–${last}; more on the next page.`;
    pageLabel.textContent = `Page ${view.page + 1}`;
    previous.disabled = view.page === 0;
    next.disabled = nextPageToken === "";
    void markLeaks(keys.filter((key) => !asked.has(key.id)));
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

  /** Marks the list busy at once, so a change shows (and a test can wait for) the answer to come. */
  const busy = () => {
    clearError(problem);
    body.setAttribute("aria-busy", "true");
    if (!body.hasChildNodes()) body.replaceChildren(h("p", { class: "loading" }, "Loading keys…"));
  };

  /** Reads page `view.page` from the server, by the token that page was reached with. */
  const load = async () => {
    clearTimeout(typing);
    request?.abort();
    const mine = (request = new AbortController());
    const signal = AbortSignal.any([ctx.signal, mine.signal]);
    busy();
    try {
      const page = await keyPage(view, view.tokens[view.page] ?? "", signal);
      if (signal.aborted) return;
      keys = page.keys;
      nextPageToken = page.nextPageToken;
      view.tokens[view.page + 1] = nextPageToken;
      show();
    } catch (error) {
      if (signal.aborted) return;
      // A token the server no longer takes (another filter, a restart with a new pepper): start over.
      if (view.page > 0) return void firstPage();
      showError(problem, error);
    } finally {
      if (request === mine) body.removeAttribute("aria-busy");
    }
  };

  const firstPage = () => {
    view.page = 0;
    view.tokens = [""];
    return load();
  };

  const change = (update: () => void) => () => {
    update();
    void firstPage();
  };
  filter.addEventListener("change", change(() => (view.filter = filter.value as StateFilter)));
  sort.addEventListener("change", change(() => (view.sort = sort.value as SortOrder)));
  pageSize.addEventListener("change", change(() => (view.pageSize = Number(pageSize.value))));
  search.addEventListener("input", () => {
    view.search = search.value;
    busy();
    clearTimeout(typing);
    typing = setTimeout(() => void firstPage(), SEARCH_PAUSE_MS);
  });
  previous.addEventListener("click", () => {
    view.page -= 1;
    void load();
  });
  next.addEventListener("click", () => {
    view.page += 1;
    void load();
  });
  ctx.signal.addEventListener("abort", () => clearTimeout(typing));

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
