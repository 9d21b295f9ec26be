import { LimitOwner, type TestKeyResponse } from "../../gen/keygate/v1/key_admin_pb.js";
import { api } from "./api.js";
import { field, h, replaceChildren } from "./dom.js";
import { formatCount, formatTime, PERIOD_LABEL } from "./format.js";
import { showError, showMessage } from "./ui.js";

/**
 * The keys page's form that says whether a secret works here (TestKey), and what is left of every
 * limit and credit balance a request with it spends, its identity's included, spending none.
 */
export function testSecretForm(): HTMLElement {
  const secret = h("input", { type: "password", name: "testSecret", autocomplete: "off", spellcheck: "false" });
  const result = h("div", { class: "result", role: "status", hidden: true });
  const form = h(
    "form",
    { method: "post", class: "card test-key", novalidate: true },
    h("h2", null, "Test a secret"),
    field("Secret to test", secret, "Says whether a secret works in this organization, and what is left of its limits and credits, without using any."),
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
        if (!answer.valid) return showMessage(result, `Not valid: ${answer.reason || "API_KEY_INVALID"}${answer.keyId ? ` (key ${answer.keyId})` : ""}.`);
        result.hidden = false;
        const spending = spendingLines(answer);
        replaceChildren(
          result,
          h("p", null, `Valid: key “${answer.name}” (${answer.keyId}), scopes ${answer.scopes.join(" ") || "none"}.`),
          spending.length > 0 ? h("ul", null, ...spending.map((line) => h("li", null, line))) : null,
        );
      },
      (error: unknown) => showError(result, error),
    );
  });
  return form;
}

/** One sentence per limit (the key's `default` is its rate limit) and per credit balance. */
function spendingLines(answer: TestKeyResponse): string[] {
  const limits = answer.limits.map((limit) => {
    const identity = limit.owner === LimitOwner.IDENTITY;
    const name = !identity && limit.name === "default" ? "Rate limit" : `${identity ? "Identity's limit" : "Limit"} “${limit.name}”`;
    return `${name}: ${formatCount(limit.remaining)} of ${formatCount(limit.limit)} / ${PERIOD_LABEL[limit.period]} left, all back by ${formatTime(limit.resetAt)}.`;
  });
  const credits = answer.credits.map((balance) => {
    const refill = balance.refillsAt ? `refilled ${formatTime(balance.refillsAt)}` : "never refilled";
    return `${balance.owner === LimitOwner.IDENTITY ? "Identity's credits" : "Credits"}: ${formatCount(balance.left)} of ${formatCount(balance.limit)} left, ${refill}.`;
  });
  return [...limits, ...credits];
}
