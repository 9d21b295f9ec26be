import { api } from "./api.js";
import { field, h } from "./dom.js";
import { showError, showMessage } from "./ui.js";

/** The keys page's form that says whether a secret works here, without spending its rate limit (TestKey). */
export function testSecretForm(): HTMLElement {
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
