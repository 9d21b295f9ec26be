import { ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { h, uid } from "./dom.js";

/**
 * The server's validation errors shown at the field they name. An invalid request field comes
 * back with ErrorInfo's `field` (e.g. `limits[1].limit`, `credits.refill.day`, `identity_id`);
 * a form marks each control with the name the server uses for it (`data-field`), so one lookup
 * serves every form, rows added and removed included.
 */

/** The field an error names and the server's words about it, without the field's name in front. */
export function namedField(error: unknown): { field: string; said: string } | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const field = error.findDetails(ErrorInfoSchema)[0]?.metadata["field"];
  if (field === undefined || field === "") return undefined;
  const said = error.rawMessage.startsWith(`${field}: `) ? error.rawMessage.slice(field.length + 2) : error.rawMessage;
  return { field, said };
}

/**
 * Where `field` shows in `within`: its control, else the nearest enclosing name that has one
 * (`meta["plan"]` shows at the meta rows, `limits[2]` at the limits). An update names a
 * replaced list's entries under `.values` (`limits.values[0].name`), which the form does not.
 */
function controlFor(within: HTMLElement, field: string): HTMLElement | undefined {
  let name = field.replace(/\.values(?=\[|$)/g, "");
  for (;;) {
    const control = within.querySelector<HTMLElement>(`[data-field="${CSS.escape(name)}"]`);
    if (control) return control;
    const shorter = name.replace(/(\[[^\]]*\]|\.[^.[\]]+)$/, "");
    if (shorter === name) return undefined;
    name = shorter;
  }
}

/** Shows the error at the field it names in `within`; false when it names none of them. */
export function showAtField(within: HTMLElement, error: unknown): boolean {
  const named = namedField(error);
  const control = named && controlFor(within, named.field);
  if (!named || !control) return false;
  const message = h("small", { id: uid("problem"), class: "error-text field-error field-problem" }, `${named.said.charAt(0).toUpperCase()}${named.said.slice(1)}`);
  // A group (the meta or limits rows) takes the message at its end; a control, under its label.
  const place = control instanceof HTMLFieldSetElement ? control : (control.closest(".field") ?? control.parentElement!);
  place.appendChild(message);
  control.setAttribute("aria-invalid", "true");
  const described = control.getAttribute("aria-describedby") ?? "";
  control.setAttribute("aria-describedby", `${described} ${message.id}`.trim());
  (control instanceof HTMLFieldSetElement ? control.querySelector<HTMLElement>("input, select, textarea, button") : control)?.focus();
  return true;
}

/** Removes what showAtField added, before the next attempt. */
export function clearAtFields(within: HTMLElement): void {
  for (const message of within.querySelectorAll(".field-problem")) {
    const control = within.querySelector(`[aria-describedby~="${CSS.escape(message.id)}"]`);
    if (control) {
      const rest = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((id) => id !== message.id);
      if (rest.length > 0) control.setAttribute("aria-describedby", rest.join(" "));
      else control.removeAttribute("aria-describedby");
      control.removeAttribute("aria-invalid");
    }
    message.remove();
  }
}
