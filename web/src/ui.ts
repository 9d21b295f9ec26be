import { h, replaceChildren, uid, type Child } from "./dom.js";
import { describe } from "./errors.js";

/** What every page gets: where to render, and a signal that fires when the user navigates away. */
export interface PageContext {
  main: HTMLElement;
  signal: AbortSignal;
  /** Path segments after the page name, e.g. the key id of #/keys/key_123. */
  params: readonly string[];
}

let signedOutHandler: (message: string) => void = () => {};
export function onSignedOut(handler: (message: string) => void): void {
  signedOutHandler = handler;
}

let toastTimer: number | undefined;
/** A short message in the polite live region. */
export function notify(text: string): void {
  const toast = document.getElementById("toast")!;
  toast.textContent = text;
  toast.classList.add("shown");
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => toast.classList.remove("shown"), 6_000);
}

/** An empty alert box that `showError` fills. */
export const errorBox = (): HTMLElement => h("div", { class: "error", role: "alert", hidden: true });

/** Fills an error box; an error that means the admin key stopped working ends the session instead. */
export function showError(box: HTMLElement, error: unknown, options: { signOut?: boolean } = {}): void {
  const problem = describe(error);
  if (problem.signedOut && (options.signOut ?? true)) {
    signedOutHandler(problem.message);
    return;
  }
  box.hidden = false;
  replaceChildren(
    box,
    h("p", null, problem.message),
    problem.detail && h("p", { class: "detail" }, problem.detail),
    problem.reason && h("p", { class: "reason" }, h("code", null, problem.reason)),
  );
}

export function showMessage(box: HTMLElement, message: string): void {
  box.hidden = false;
  replaceChildren(box, h("p", null, message));
}

export function clearError(box: HTMLElement): void {
  box.hidden = true;
  box.replaceChildren();
}

/** Runs `load` and renders what it returns into `into`, or the error there instead. */
export async function section(into: HTMLElement, load: () => Promise<Child>, signal: AbortSignal): Promise<void> {
  into.setAttribute("aria-busy", "true");
  // A refresh keeps the figures on screen until the new ones arrive.
  if (!into.hasChildNodes()) into.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    const content = await load();
    if (signal.aborted) return;
    replaceChildren(into, content);
  } catch (error) {
    if (signal.aborted) return;
    const box = errorBox();
    replaceChildren(into, box);
    showError(box, error);
  } finally {
    into.removeAttribute("aria-busy");
  }
}

export function heading(text: string, ...extra: Child[]): HTMLElement {
  return h("div", { class: "page-head" }, h("h1", { tabindex: -1 }, text), ...extra);
}

export interface DialogOptions {
  title: string;
  body: Child;
  /** Label of the main button; none: the dialog only has Close. */
  submitLabel?: string;
  danger?: boolean;
  /**
   * Runs on submit; resolve to close the dialog, throw to show the error in it, resolve `false`
   * to keep it open when the body itself now says why (a refusal it explains in its own terms).
   */
  onSubmit?: (form: HTMLFormElement) => Promise<void | false>;
  /** Enables the submit button only while this holds (checked on every input). */
  canSubmit?: (form: HTMLFormElement) => boolean;
  cancelLabel?: string;
}

/** A modal <dialog>: focus moves in and back out, Escape cancels, errors show inside it. */
export function openDialog(options: DialogOptions): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = uid("dialog-title");
  const problem = errorBox();
  const submit =
    options.submitLabel &&
    h("button", { type: "submit", class: options.danger ? "danger" : "primary" }, options.submitLabel);
  const cancel = h("button", { type: "button", class: "secondary" }, options.cancelLabel ?? (submit ? "Cancel" : "Close"));
  const form = h(
    "form",
    { method: "dialog", novalidate: true },
    h("h2", { id: titleId }, options.title),
    options.body,
    problem,
    h("div", { class: "actions" }, cancel, submit),
  );
  const dialog = h("dialog", { "aria-labelledby": titleId }, form);
  const refresh = () => {
    if (submit && options.canSubmit) submit.disabled = !options.canSubmit(form);
  };
  form.addEventListener("input", refresh);
  refresh();
  document.body.appendChild(dialog);
  return new Promise((resolve) => {
    let done = false;
    const close = (result: boolean) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(result);
    };
    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(false);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!submit || submit.disabled) return;
      if (!options.onSubmit) return close(true);
      submit.disabled = true;
      clearError(problem);
      options.onSubmit(form).then(
        (outcome) => (outcome === false ? (submit.disabled = false) : close(true)),
        (error: unknown) => {
          submit.disabled = false;
          showError(problem, error);
        },
      );
    });
    dialog.showModal();
  });
}

/** What an API key's secret dialog says; other secrets (webhook signing secrets) say their own. */
const keySecretWarning = (): Child => [
  h("strong", null, "Copy this secret now. "),
  "keygate keeps only a hash of it: it will never be shown again. Store it in a secret manager; anyone holding it can use the key.",
];

/** The one time a secret is shown: copy button, warning, and it is wiped from the page after. */
export async function revealSecret(title: string, secret: string, warning: Child = keySecretWarning()): Promise<void> {
  const value = h("input", { id: "secret-value", type: "text", readonly: true, value: secret, spellcheck: "false", autocomplete: "off", class: "secret" });
  const copied = h("span", { class: "copied", role: "status" });
  const copy = h(
    "button",
    {
      type: "button",
      class: "primary",
      onclick: () => {
        const done = () => (copied.textContent = "Copied to the clipboard.");
        const fallback = () => {
          value.select();
          copied.textContent = document.execCommand("copy") ? "Copied to the clipboard." : "Select the secret and copy it by hand.";
        };
        if (navigator.clipboard) navigator.clipboard.writeText(secret).then(done, fallback);
        else fallback();
      },
    },
    "Copy secret",
  );
  await openDialog({
    title,
    cancelLabel: "I have stored it",
    body: [
      h("p", { class: "warning" }, warning),
      h("div", { class: "field" }, h("label", { for: "secret-value" }, "Secret"), h("div", { class: "copy-row" }, value, copy)),
      copied,
    ],
  });
  value.value = "";
}
