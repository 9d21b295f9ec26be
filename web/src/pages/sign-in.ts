import { clientFor, signIn } from "../api.js";
import { field, h } from "../dom.js";
import { errorBox, heading, showError, showMessage, type PageContext } from "../ui.js";

/**
 * Sign-in with an admin key. The form posts nowhere (a script-less submit would POST to the
 * console, never put the key in a URL); the key is checked with GetMyLimits before it is kept.
 */
export function renderSignIn(ctx: PageContext, message: string | undefined, onSignedIn: () => void): void {
  const key = h("input", {
    type: "password",
    name: "adminKey",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "sk_live_…",
  });
  const remember = h("input", { type: "checkbox", name: "remember", checked: true });
  const problem = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { method: "post", class: "card sign-in", novalidate: true },
    field("Admin API key", key, "A key with the admin:read scope (admin:write to make changes), e.g. the one keygate printed at start."),
    h("label", { class: "check" }, remember, " Stay signed in in this tab (kept in session storage until the tab closes)"),
    problem,
    h("div", { class: "actions" }, submit),
  );
  if (message) showMessage(problem, message);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const secret = key.value.trim();
    if (secret === "") {
      showMessage(problem, "Enter an admin API key.");
      key.focus();
      return;
    }
    submit.disabled = true;
    clientFor(secret)
      .getMyLimits({})
      .then(
        () => {
          signIn(secret, remember.checked);
          key.value = "";
          onSignedIn();
        },
        (error: unknown) => {
          submit.disabled = false;
          showError(problem, error, { signOut: false });
          key.focus();
        },
      );
  });
  ctx.main.replaceChildren(
    heading("Sign in"),
    h("p", null, "Manage your organization's API keys and see their usage."),
    form,
  );
  key.focus();
}
