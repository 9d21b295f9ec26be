import { UserRole } from "../../../gen/keygate/v1/key_admin_pb.js";
import { api } from "../api.js";
import { choices } from "../choices.js";
import { h, replaceChildren } from "../dom.js";
import { namedField } from "../field-problems.js";
import { settingsForm, type SettingsForm } from "../settings-form.js";
import { clearError, errorBox, heading, notify, showError, type PageContext } from "../ui.js";

/**
 * The organization's settings: read by anyone signed in, changed by owners and admins, the key
 * lifecycle ones by owners alone. Who may change what is the server's to decide; the page says
 * the rule beforehand and, when the server refuses, shows its reason at the setting it names.
 */

/** What the signed-in user's role means for the key lifecycle settings. */
const LIFECYCLE_NOTE: Partial<Record<UserRole, string>> = {
  [UserRole.ADMIN]: "Your user is an admin: you can change the notifications only.",
  [UserRole.MEMBER]: "Your user is a member: you can read these settings; owners and admins change them.",
};

/**
 * The setting a refusal or a rejected value is about (ErrorInfo's `field`, a list's index
 * dropped), and the server's words about it without the field's name in front.
 */
function fieldProblem(error: unknown): { name: string; message: string } | undefined {
  const problem = namedField(error);
  if (problem === undefined) return undefined;
  const { field: named, said } = problem;
  const index = /\[(\d+)\]$/.exec(named);
  return {
    name: named.replace(/\[\d+\]$/, ""),
    message: index ? `Percentage ${Number(index[1]) + 1}: ${said}` : `${said.charAt(0).toUpperCase()}${said.slice(1)}`,
  };
}

export function renderSettings(ctx: PageContext): void {
  const problem = errorBox();
  const body = h("div", { class: "settings" });
  const lifecycleNote = h("span");
  const save = h("button", { type: "submit", class: "primary" }, "Save changes");

  const submit = async (form: SettingsForm) => {
    clearError(problem);
    form.clearFieldErrors();
    const changes = form.changes();
    if ("invalid" in changes) {
      form.showFieldError(changes.invalid, changes.message);
      return;
    }
    if (Object.keys(changes.request).length === 0) {
      notify("Nothing to save: no setting changed.");
      return;
    }
    save.disabled = true;
    try {
      const { settings } = await api.updateOrganizationSettings(changes.request, { signal: ctx.signal });
      if (ctx.signal.aborted) return;
      form.reset(settings!);
      notify("Settings saved.");
    } catch (error) {
      if (ctx.signal.aborted) return;
      showError(problem, error);
      const named = fieldProblem(error);
      if (named) form.showFieldError(named.name, named.message);
    } finally {
      save.disabled = false;
    }
  };

  const load = async () => {
    body.setAttribute("aria-busy", "true");
    replaceChildren(body, h("p", { class: "loading" }, "Loading…"));
    try {
      const { settings } = await api.getOrganizationSettings({}, { signal: ctx.signal });
      if (ctx.signal.aborted) return;
      const form = settingsForm(settings!, save, lifecycleNote);
      form.element.addEventListener("submit", (event) => {
        event.preventDefault();
        void submit(form);
      });
      replaceChildren(body, form.element);
    } catch (error) {
      if (ctx.signal.aborted) return;
      replaceChildren(body);
      showError(problem, error);
    } finally {
      body.removeAttribute("aria-busy");
    }
  };

  ctx.main.replaceChildren(
    heading("Settings"),
    h("p", null, "These settings apply to your whole organization: when keygate warns about expiring keys and quota use, how long keys may live, and what a leaked key gets."),
    problem,
    body,
  );
  // The role only adds a sentence; without it the page still works and the server still decides.
  choices().then(
    ({ limits }) => (lifecycleNote.textContent = LIFECYCLE_NOTE[limits.role] ?? ""),
    () => {},
  );
  void load();
}
