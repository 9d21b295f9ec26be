import { Environment, KeyType, type ApiKey } from "../../../gen/keygate/v1/key_admin_pb.js";
import { keyState } from "../../../src/model/key-state.js";
import { api } from "../api.js";
import { choicesOrExplain, forgetChoices } from "../choices.js";
import { field, h, replaceChildren, select, table } from "../dom.js";
import { ENVIRONMENT_LABEL, formatCount, formatRateLimit, formatTime } from "../format.js";
import { keyForm } from "../key-form.js";
import { clearError, errorBox, heading, notify, openDialog, revealSecret, showError, showMessage, type PageContext } from "../ui.js";

/** The keys table: filter, pages, create, and a form to test any secret. */

type Filter = "all" | "active" | "disabled";
const FILTERS = [
  ["all", "All keys"],
  ["active", "Active"],
  ["disabled", "Disabled"],
] as const;
const PAGE_SIZES = [
  ["10", "10"],
  ["25", "25"],
  ["50", "50"],
  ["100", "100"],
] as const;

/** Kept across visits, so returning from a key keeps the filter and page. */
const view = { filter: "all" as Filter, pageSize: 25, tokens: [""] };

export function stateBadge(key: ApiKey): HTMLElement {
  const state = keyState(key, Date.now());
  return h("span", { class: `badge ${state}` }, state);
}

export function renderKeys(ctx: PageContext): void {
  const problem = errorBox();
  const body = h("div", { "aria-live": "polite" });
  const pageLabel = h("span", { class: "page-no" });
  const previous = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const filter = select(FILTERS, view.filter, { name: "filter" });
  const pageSize = select(PAGE_SIZES, String(view.pageSize), { name: "pageSize" });
  let nextToken = "";

  const load = async () => {
    clearError(problem);
    body.setAttribute("aria-busy", "true");
    try {
      const page = await api.listKeys(
        {
          pageSize: view.pageSize,
          pageToken: view.tokens[view.tokens.length - 1]!,
          ...(view.filter !== "all" && { isActive: view.filter === "active" }),
        },
        { signal: ctx.signal },
      );
      if (ctx.signal.aborted) return;
      nextToken = page.nextPageToken;
      replaceChildren(
        body,
        table(
          "API keys",
          ["Name", "Prefix", "Environment", "State", "Scopes", "Rate limit", "Requests today", "Last used"],
          page.keys.map((key) => [
            h("a", { href: `#/keys/${encodeURIComponent(key.id)}` }, key.name || key.id),
            h("code", null, key.keyPrefix),
            ENVIRONMENT_LABEL[key.environment],
            stateBadge(key),
            key.scopes.length ? key.scopes.join(" ") : "none",
            formatRateLimit(key),
            formatCount(key.usage?.requestsToday ?? 0n),
            formatTime(key.lastUsedAt),
          ]),
          view.filter === "all" ? "No keys yet: create one." : `No ${view.filter} keys.`,
        ),
      );
      pageLabel.textContent = `Page ${view.tokens.length}`;
      previous.disabled = view.tokens.length === 1;
      next.disabled = nextToken === "";
    } catch (error) {
      if (!ctx.signal.aborted) showError(problem, error);
    } finally {
      body.removeAttribute("aria-busy");
    }
  };

  filter.addEventListener("change", () => {
    view.filter = filter.value as Filter;
    view.tokens = [""];
    void load();
  });
  pageSize.addEventListener("change", () => {
    view.pageSize = Number(pageSize.value);
    view.tokens = [""];
    void load();
  });
  previous.addEventListener("click", () => {
    view.tokens.pop();
    void load();
  });
  next.addEventListener("click", () => {
    view.tokens.push(nextToken);
    void load();
  });

  const create = h("button", { type: "button", class: "primary", onclick: () => void createKey(load) }, "Create key");
  ctx.main.replaceChildren(
    heading("API keys", create),
    h("div", { class: "toolbar" }, field("Show", filter), field("Keys per page", pageSize)),
    problem,
    body,
    h("nav", { class: "pager", "aria-label": "Key pages" }, previous, pageLabel, next),
    testSecretForm(),
  );
  void load();
}

async function createKey(reload: () => Promise<void>): Promise<void> {
  const loaded = await choicesOrExplain("Create key");
  if (!loaded) return;
  const form = keyForm(loaded.catalog, loaded.limits.availableScopes);
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

function testSecretForm(): HTMLElement {
  const secret = h("input", { type: "password", name: "testSecret", autocomplete: "off", spellcheck: "false" });
  const result = h("div", { class: "result", role: "status", hidden: true });
  const form = h(
    "form",
    { method: "post", class: "card test-key", novalidate: true },
    h("h2", null, "Test a secret"),
    field("Secret to test", secret, "Says whether a secret works in this organization, without using its rate limit."),
    result,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Test")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const apiKey = secret.value.trim();
    if (apiKey === "") return showMessage(result, "Enter a secret to test.");
    api.testKey({ apiKey }).then(
      (answer) => {
        secret.value = "";
        const limit = answer.rateLimit && answer.rateLimit.limit > 0 ? ` Rate limit: ${answer.rateLimit.remaining} of ${answer.rateLimit.limit} left.` : "";
        showMessage(
          result,
          answer.valid
            ? `Valid: key “${answer.name}” (${answer.keyId}), scopes ${answer.scopes.join(" ") || "none"}.${limit}`
            : `Not valid: ${answer.reason || "API_KEY_INVALID"}${answer.keyId ? ` (key ${answer.keyId})` : ""}.`,
        );
      },
      (error: unknown) => showError(result, error),
    );
  });
  return form;
}
